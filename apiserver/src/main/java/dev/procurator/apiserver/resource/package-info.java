/**
 * What the server knows about each kind it serves: names, scope, schema, printer columns
 * ({@link dev.procurator.apiserver.resource.ResourceType}), read from the generated CRDs
 * ({@link dev.procurator.apiserver.resource.ResourceRegistry}); and how an object is checked
 * against its structural schema ({@link dev.procurator.apiserver.resource.StructuralSchema}).
 */
package dev.procurator.apiserver.resource;
