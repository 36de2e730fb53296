"""Resources the triggers need: topics, push subscriptions, buckets, dataset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from common.analytics.bootstrap import bootstrap
from emulators.config import DATASET, NOTIFICATION_TOPIC, PlatformConfig
from triggers import Catalog, FunctionDefinition, PubSubTrigger, StorageTrigger

if TYPE_CHECKING:
    from google.cloud import pubsub_v1

ACK_DEADLINE_MAX_S = 600


def subscription_id(function: FunctionDefinition) -> str:
    """The push subscription that delivers one function's events."""
    return f"eventarc-{function.service_name}"


def wire(config: PlatformConfig, catalog: Catalog) -> None:
    """Create every resource the catalogue names, on the running emulators."""
    publisher, subscriber = _pubsub_clients(config)
    topics = (*catalog.topics, NOTIFICATION_TOPIC)
    for topic in topics:
        publisher.create_topic(name=publisher.topic_path(config.project_id, topic))
    for function in catalog.functions:
        if isinstance(function.trigger, PubSubTrigger | StorageTrigger):
            _subscribe(config, catalog, subscriber, function)

    _create_buckets(config, catalog)
    _create_dataset(config)


def _subscribe(
    config: PlatformConfig,
    catalog: Catalog,
    subscriber: pubsub_v1.SubscriberClient,
    function: FunctionDefinition,
) -> None:
    trigger = function.trigger
    kind = "pubsub" if isinstance(trigger, PubSubTrigger) else "storage"
    topic = trigger.topic if isinstance(trigger, PubSubTrigger) else NOTIFICATION_TOPIC
    max_backoff = min(function.max_backoff_s, config.max_backoff_s)
    min_backoff = min(function.min_backoff_s, max_backoff)
    request: dict[str, Any] = {
        "name": subscriber.subscription_path(
            config.project_id, subscription_id(function)
        ),
        "topic": f"projects/{config.project_id}/topics/{topic}",
        "push_config": {
            "push_endpoint": f"{config.url('eventarc')}/{kind}/{function.name}"
        },
        "ack_deadline_seconds": min(function.timeout_s, ACK_DEADLINE_MAX_S),
        "retry_policy": {
            "minimum_backoff": _duration(min_backoff),
            "maximum_backoff": _duration(max_backoff),
        },
    }
    if function.retry and function.dead_letter:
        request["dead_letter_policy"] = {
            "dead_letter_topic": (
                f"projects/{config.project_id}/topics/{catalog.dead_letter_topic}"
            ),
            "max_delivery_attempts": function.max_delivery_attempts,
        }
    subscriber.create_subscription(request=request)


def _duration(seconds: float) -> Any:
    from google.protobuf import duration_pb2

    whole = int(seconds)
    return duration_pb2.Duration(seconds=whole, nanos=int((seconds - whole) * 1e9))


def _pubsub_clients(
    config: PlatformConfig,
) -> tuple[pubsub_v1.PublisherClient, pubsub_v1.SubscriberClient]:
    import grpc
    from google.cloud import pubsub_v1
    from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
    from google.pubsub_v1.services.subscriber.transports import (
        SubscriberGrpcTransport,
    )

    host = f"127.0.0.1:{config.ports['pubsub']}"
    publisher = pubsub_v1.PublisherClient(
        transport=PublisherGrpcTransport(channel=grpc.insecure_channel(host))
    )
    subscriber = pubsub_v1.SubscriberClient(
        transport=SubscriberGrpcTransport(channel=grpc.insecure_channel(host))
    )
    return publisher, subscriber


def _create_buckets(config: PlatformConfig, catalog: Catalog) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(
        project=config.project_id,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": config.url("storage")},
    )
    for bucket in catalog.buckets:
        client.create_bucket(f"{config.project_id}-{bucket}")


def _create_dataset(config: PlatformConfig) -> None:
    # The same bootstrap as deploy.sh runs: dataset, tables and views.
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    client = bigquery.Client(
        project=config.project_id,
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=config.url("bigquery")),
    )
    bootstrap(client, dataset=DATASET)
