"""wirefeed's benchmark suite: run on demand, never part of the test suite.

    python -m bench             # every scenario, 3 runs each, writes bench/RESULTS.md (~35 min)
    python -m bench --quick     # smoke run: small sizes, 1 run, prints the table only (~3 min)
    python -m bench --scenario 2 --scenario 3   # some scenarios only
    python -m bench.profile     # py-spy profiles of the workers and the web server -> bench/profiles/

It starts the real stack as subprocesses on 127.0.0.1 (its own Redis with AOF as deployed, one
ingest, one express and two categorizer rq workers via ``wirefeed worker``, the web service via
``wirefeed serve --workers 2`` as docker-compose runs it, nginx with ``config/nginx.conf``) and
measures, each figure the median of several runs and each against a baseline measured in the
same run on the same machine:

1. ingest throughput (:mod:`bench.ingest`): a generated 20,000-story dump (:mod:`bench.gen`)
   from the first byte of ``POST /api/ingest`` until every topic feed served over HTTP is
   current; baseline: the obvious design, one rq job per story on rq's forking ``Worker``
   (:mod:`bench.baseline_rq`), which must leave the same stories, topics and feeds
   (:mod:`bench.correctness`);
2. feed serving (:mod:`bench.serving`): wrk on ``/feeds/<topic>.atom``, 200s and 304s, against
   the app, the shipped nginx proxy_cache in front of it, a minimal Flask+gunicorn app
   (:mod:`bench.baseline_flask`) and nginx serving the same bytes as a static file;
3. freshness (:mod:`bench.freshness`): ``POST /api/ingest`` returning -> story in its topic
   feed over HTTP, idle and during scenario 1's ingest;
4. scale (:mod:`bench.scale`): feed latency and ingest rate with 1,000 and 200,000 stories
   stored, Redis memory per story, peak RSS of the web and worker processes;
5. retention (:mod:`bench.retention`): 90 simulated days at 5,000 stories a day, 30-day retention:
   Redis memory per day levels off; no retention command over 10 ms;
6. WebSub push (:mod:`bench.push`, ``--scenario push``): one story to 1,000 / 10,000 / 50,000
   subscribers (and 10,000 over 20 topics) on a local receiver, batched delivery against the
   old one-job-per-delivery design (:mod:`bench.baseline_websub`).

Needs the Debian packages ``nginx`` and ``wrk`` (``apt-get install -y nginx wrk``) and, for
profiles only, ``pip install -e '.[bench]'`` (py-spy).
"""
