# Parses an OpenMetrics exposition (stdin) with the Prometheus Python client's strict parser and
# prints the histogram samples and their exemplars as JSON lines. Any syntax error raises (exit 1).
import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out = {"family": family.name, "type": family.type, "name": s.name, "labels": s.labels, "value": s.value}
        if s.exemplar is not None:
            out["exemplar"] = {"labels": s.exemplar.labels, "value": s.exemplar.value, "timestamp": float(s.exemplar.timestamp)}
        print(json.dumps(out))
