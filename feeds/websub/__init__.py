"""The built-in WebSub hub: subscriptions in Redis (:mod:`.store`), safe outgoing requests
(:mod:`.net`) and the web side that queues verifications and deliveries (:mod:`.hub`); the
jobs run in :mod:`wirefeed.workers.websub`. See docs/websub.md."""
