#!/bin/bash
# Creates souk's topics (KAFKA_TOPICS, KAFKA_PARTITIONS partitions each) on the
# broker at KAFKA_BOOTSTRAP with the Apache Kafka image's own tools, then
# exits: compose's kafka-init service. Existing topics are left alone.
set -euo pipefail
bin=/opt/kafka/bin
for topic in ${KAFKA_TOPICS:-orders inventory products users audit}; do
    "$bin/kafka-topics.sh" --bootstrap-server "${KAFKA_BOOTSTRAP:-kafka:9092}" --create \
        --if-not-exists --topic "$topic" --partitions "${KAFKA_PARTITIONS:-4}" \
        --replication-factor 1
done
"$bin/kafka-topics.sh" --bootstrap-server "${KAFKA_BOOTSTRAP:-kafka:9092}" --list
