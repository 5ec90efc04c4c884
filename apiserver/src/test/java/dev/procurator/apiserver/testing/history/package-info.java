/**
 * Checking what concurrent clients of the API saw: {@link dev.procurator.apiserver.testing.history.History}
 * records each client's operations (call and return times, input, output, or an unknown outcome);
 * {@link dev.procurator.apiserver.testing.history.LinearizabilityChecker} answers whether they could
 * have happened one at a time in an order that respects real time, per object, against the
 * compare-and-set register of {@link dev.procurator.apiserver.testing.history.CasRegister}; when
 * not, it names the object and the smallest stretch of operations that no order explains.
 */
package dev.procurator.apiserver.testing.history;
