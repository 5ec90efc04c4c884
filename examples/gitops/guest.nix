# What a commit changes: the guest's version (served at GET /version) and whether it is healthy
# (an unhealthy guest serves no /healthz, so its health check fails and the rollout rolls back).
{
  version = "1";
  healthy = true;
}
