/**
 * Files only their owner may read (keys, tokens, kubeconfigs, the embedded store) and private
 * folders, made with their permissions from the start rather than restricted after they were
 * written. Every component writes its secrets through {@link dev.procurator.api.files.PrivateFiles}.
 */
package dev.procurator.api.files;
