/**
 * The key-value storage under the API server: a small interface shaped like Kubernetes'
 * storage.Interface and kine's backend, and its two implementations.
 *
 * <p>Every object lives under one key; every write gets a new, cluster-wide revision. Reads can
 * be taken at a past revision until it is compacted; a watch replays everything after a revision
 * and then follows live writes, in revision order. {@link dev.procurator.apiserver.storage.EtcdStorage}
 * keeps all of this in an etcd cluster; {@link dev.procurator.apiserver.storage.SqliteStorage}
 * keeps it in one SQLite file (WAL, fsync on commit, group commit) for a single host.
 */
package dev.procurator.apiserver.storage;
