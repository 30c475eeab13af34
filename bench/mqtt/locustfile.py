"""Locust side of bench/mqtt.sh: each user holds one MQTT connection (Locust's
own MqttUser from locust.contrib.mqtt, paho-mqtt underneath) and publishes a
100-byte message to a topic of its own with no wait.

    MQTT_QOS=1 locust -f bench/mqtt/locustfile.py --headless -u 50 -r 50 -t 10s \
        --host mqtt://127.0.0.1:1883          # MQTT_QOS: 0 (default) or 1

MqttUser connects to its `host` and `port` attributes; --host sets `host` to a
whole URL, so it is split here into the two.

With MQTT_BENCH_SUMMARY=FILE, the final counts are written to FILE as JSON
when Locust quits: publishes and failures summed over the publish rows (one
per topic, `publish:QOS:TOPIC`, plus `publish` for an ack Locust could not
match), and the errors. Locust's --csv files are not used for this: a
greenlet rewrites them once a second and they are not rewritten after the
users stop, so they miss up to the last second of a run.
"""

import itertools
import json
import os
import time
from urllib.parse import urlsplit

import gevent
from locust import constant, events, task
from locust.contrib.mqtt import MqttUser

QOS = int(os.environ.get("MQTT_QOS", "0"))
PAYLOAD = b"x" * int(os.environ.get("MQTT_PAYLOAD", "100"))
_ids = itertools.count()
_env = None


class Publisher(MqttUser):
    wait_time = constant(0)

    def __init__(self, environment):
        url = urlsplit(self.host if "://" in self.host else f"mqtt://{self.host}")
        self.host = url.hostname
        self.port = url.port or 1883
        self.topic = f"bench/{next(_ids)}"
        super().__init__(environment)

    def on_start(self):
        # MqttUser connects in the background (connect_async); a publish sent
        # before the CONNACK fails with MQTT_ERR_NO_CONN. Wait for the
        # connection first, as cicada's users do.
        deadline = time.monotonic() + 10
        while not self.client.is_connected() and time.monotonic() < deadline:
            gevent.sleep(0.01)

    @task
    def publish(self):
        self.client.publish(self.topic, PAYLOAD, qos=QOS)

    def on_stop(self):
        self.client.disconnect()
        self.client.loop_stop()


@events.init.add_listener
def _keep_environment(environment, **_kwargs):
    global _env
    _env = environment


@events.quit.add_listener
def _write_summary(exit_code, **_kwargs):
    # `quit` fires after the runner has stopped every user: the counts are final.
    path = os.environ.get("MQTT_BENCH_SUMMARY")
    if not path or _env is None:
        return
    stats = _env.stats
    rows = [e for e in stats.entries.values() if e.name == "publish" or e.name.startswith("publish:")]
    errors = [e.serialize() for e in stats.errors.values()]
    with open(path, "w") as f:
        json.dump(
            {
                "publishes": sum(e.num_requests for e in rows),
                "failures": sum(e.num_failures for e in rows),
                "other_failures": sum(e.num_failures for e in stats.entries.values()) - sum(e.num_failures for e in rows),
                "errors": [{k: e[k] for k in ("name", "error", "occurrences")} for e in errors],
            },
            f,
        )
