# The smoke checks in workerd (Cloudflare Workers' runtime), on the bundle:
#   workerd test tests/runtimes/workerd/config.capnp
# The worker's test() handler runs every check, then the shared-event checks,
# which call the worker itself (SELF) so that each call is its own request.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "smoke.mjs", esModule = embed "../smoke.mjs"),
    (name = "event.mjs", esModule = embed "../../../dist/event.mjs"),
  ],
  compatibilityDate = "2026-11-01",
  bindings = [(name = "SELF", service = "main")],
);
