#!/bin/sh
# Renders server.properties for this pod (node id = StatefulSet ordinal),
# formats the volume on first start, then runs the broker in the foreground.
set -eu
ordinal="${POD_NAME##*-}"
mkdir -p /var/run/kafka /var/lib/kafka/data/kraft
sed -e "s/@NODE_ID@/${ordinal}/" -e "s/@POD_NAME@/${POD_NAME}/" \
  /etc/kafka-airis/server.properties >/var/run/kafka/server.properties
/opt/kafka/bin/kafka-storage.sh format --ignore-formatted \
  --cluster-id "${KAFKA_CLUSTER_ID}" --config /var/run/kafka/server.properties
exec /opt/kafka/bin/kafka-server-start.sh /var/run/kafka/server.properties
