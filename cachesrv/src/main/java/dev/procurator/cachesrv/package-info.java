/**
 * cachesrv: a Nix HTTP binary cache that the real nix client pushes to ({@code nix copy --to}) and
 * substitutes from. {@link dev.procurator.cachesrv.NarInfo} and {@link dev.procurator.cachesrv.NixBase32}
 * speak nix's formats; {@link dev.procurator.cachesrv.NarVerifier} checks an uploaded NAR against its
 * narinfo; {@link dev.procurator.cachesrv.SigningKey} signs narinfos the way nix checks them;
 * {@link dev.procurator.cachesrv.CacheServer} serves it all over HTTP from a
 * {@link dev.procurator.cachesrv.FileStore}, with {@link dev.procurator.cachesrv.CacheUploads}
 * checking and storing what is uploaded.
 */
package dev.procurator.cachesrv;
