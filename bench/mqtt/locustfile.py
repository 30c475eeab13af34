"""Locust side of bench/mqtt.sh: each user holds one MQTT connection (Locust's
own MqttUser from locust.contrib.mqtt, paho-mqtt underneath) and publishes a
100-byte message to a topic of its own with no wait.

    locust -f bench/mqtt/locustfile.py --headless -u 50 -r 50 -t 10s \
        --host mqtt://127.0.0.1:1883          # MQTT_QOS=1 for QoS 1 (default 0)

MqttUser connects to its `host` and `port` attributes; --host sets `host` to a
whole URL, so it is split here into the two.
"""

import itertools
import os
import time
from urllib.parse import urlsplit

import gevent
from locust import constant, task
from locust.contrib.mqtt import MqttUser

QOS = int(os.environ.get("MQTT_QOS", "0"))
PAYLOAD = b"x" * int(os.environ.get("MQTT_PAYLOAD", "100"))
_ids = itertools.count()


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
