# A cluster of microVMs, written as Nix options and turned into Procurator Cluster resources.
#
#   procurator.cluster.name = "shop";
#   procurator.cluster.vms.web = { cpu = 1; memory = "256Mi"; replicas = 3; closure = self.packages.x86_64-linux.web; };
#
# Each VM role becomes one Cluster (named after the role, labelled with the cluster's name) with
# one template, so that each role rolls out under its own strategy, as Deployments do.
# `procurator.resources` is the list of them; `nix eval --json .#procurator.resources` prints it.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.procurator.cluster;

  healthCheck = types.submodule {
    options = {
      type = mkOption { type = types.enum [ "http" "tcp" "exec" ]; description = "How the guest is checked."; };
      port = mkOption { type = types.nullOr types.port; default = null; description = "Guest port (http, tcp)."; };
      path = mkOption { type = types.nullOr types.str; default = null; description = "HTTP path (http)."; };
      command = mkOption { type = types.nullOr (types.listOf types.str); default = null; description = "Command run in the guest (exec)."; };
      periodSeconds = mkOption { type = types.ints.positive; default = 10; };
      timeoutSeconds = mkOption { type = types.nullOr types.ints.positive; default = null; };
      failureThreshold = mkOption { type = types.ints.positive; default = 3; };
    };
  };

  strategy = types.submodule {
    options = {
      type = mkOption { type = types.enum [ "RollingUpdate" "BlueGreen" "Canary" ]; default = "RollingUpdate"; };
      maxSurge = mkOption { type = types.nullOr (types.either types.ints.unsigned (types.strMatching "[0-9]+%")); default = null; };
      maxUnavailable = mkOption { type = types.nullOr (types.either types.ints.unsigned (types.strMatching "[0-9]+%")); default = null; };
      minReadySeconds = mkOption { type = types.nullOr types.ints.unsigned; default = null; };
      autoPromotion = mkOption { type = types.nullOr types.bool; default = null; description = "BlueGreen: promote once all new VMs are available."; };
      scaleDownDelaySeconds = mkOption { type = types.nullOr types.ints.unsigned; default = null; };
      steps = mkOption { type = types.nullOr (types.listOf types.attrs); default = null; description = "Canary steps: {replicas = N;}, {pause = {seconds = S;};}, {analysis = {seconds = S;};}."; };
    };
  };

  vm = types.submodule ({ name, config, ... }: {
    options = {
      role = mkOption { type = types.strMatching "[a-z0-9]([-a-z0-9]*[a-z0-9])?"; default = name; description = "The role's name: its Cluster and template are called so."; };
      cpu = mkOption { type = types.ints.between 1 64; default = 1; description = "Virtual CPUs."; };
      memory = mkOption { type = types.strMatching "[0-9]+(Ki|Mi|Gi|Ti)?"; default = "256Mi"; description = "Guest memory as a quantity."; };
      labels = mkOption { type = types.attrsOf types.str; default = { }; description = "Labels of the role's Cluster and its VMs."; };
      nodeSelector = mkOption { type = types.attrsOf types.str; default = { }; };
      replicas = mkOption { type = types.ints.between 0 100; default = 1; };
      closure = mkOption {
        type = types.nullOr (types.either (types.strMatching "/nix/store/[^/]+") types.package);
        default = null;
        description = "A store path holding kernel, initrd and init (a derivation, or its path as a string).";
      };
      system = mkOption {
        type = types.nullOr types.attrs;
        default = null;
        description = "A NixOS system (the result of nixosSystem): its toplevel, which holds kernel, initrd and init, is the closure.";
      };
      cmdline = mkOption { type = types.nullOr types.str; default = null; description = "Kernel command line."; };
      ports = mkOption { type = types.listOf types.port; default = [ ]; description = "Guest ports forwarded to the host."; };
      healthChecks = mkOption { type = types.listOf healthCheck; default = [ ]; };
      strategy = mkOption { type = strategy; default = { }; };
      autoRollback = mkOption { type = types.bool; default = true; };
      revisionHistoryLimit = mkOption { type = types.ints.unsigned; default = 10; };
    };
  });

  closureOf = name: v:
    if v.closure != null && v.system != null then
      throw "procurator.cluster.vms.${name}: give closure or system, not both"
    else if v.closure != null then "${v.closure}"
    else if v.system != null then "${v.system.config.system.build.toplevel}"
    else throw "procurator.cluster.vms.${name}: give closure (a store path with kernel, initrd and init) or system (a NixOS system)";

  noNulls = lib.filterAttrs (_: x: x != null);

  resource = name: v: {
    apiVersion = "procurator.dev/v1alpha1";
    kind = "Cluster";
    metadata = noNulls {
      name = v.role;
      namespace = cfg.namespace;
      labels = v.labels // { "procurator.dev/part-of" = cfg.name; };
    };
    spec = noNulls {
      templates = [{
        name = v.role;
        replicas = v.replicas;
        spec = noNulls {
          cpu = v.cpu;
          memory = v.memory;
          boot = noNulls { closure = closureOf name v; cmdline = v.cmdline; };
          nodeSelector = if v.nodeSelector == { } then null else v.nodeSelector;
          network = if v.ports == [ ] then null else { mode = "user"; ports = map (p: { guest = p; }) v.ports; };
          healthChecks = if v.healthChecks == [ ] then null else map noNulls v.healthChecks;
        };
      }];
      strategy = noNulls v.strategy;
      autoRollback = v.autoRollback;
      revisionHistoryLimit = v.revisionHistoryLimit;
    };
  };
in
{
  options.procurator = {
    cluster = {
      name = mkOption { type = types.strMatching "[a-z0-9]([-a-z0-9]*[a-z0-9])?"; description = "The cluster's name (a label on each of its Clusters)."; };
      namespace = mkOption { type = types.nullOr types.str; default = null; description = "Namespace of the resources (none: the GitRepository's target)."; };
      vms = mkOption { type = types.attrsOf vm; default = { }; description = "The VM roles."; };
    };
    resources = mkOption {
      type = types.listOf types.attrs;
      readOnly = true;
      description = "The Cluster resources of the cluster, one per VM role.";
    };
  };

  config.procurator.resources = lib.mapAttrsToList resource cfg.vms;
}
