/** Small text helpers shared by the server and the command line: how times and quantities are shown to people. */
package dev.procurator.api.text;
