"""A separate writer process, standing in for the daemon: opens incidents and appends notes.

python -m tests.support.writer STORE_URL INCIDENT_ID NOTES OPENS NAME
"""

from __future__ import annotations

import sys

from opsbook.incidents.lifecycle import Incidents
from opsbook.incidents.severity import SeverityPolicy
from opsbook.store.open import open_store


def main() -> None:
    url, incident_id, notes, opens, name = sys.argv[1:6]
    store = open_store(url)
    service = Incidents(store.engine, SeverityPolicy.from_config({}))
    opened = []
    for i in range(int(notes)):
        service.note(incident_id, f"{name} note {i}", name)
        if i < int(opens):
            opened.append(service.open(title=f"{name} {i}", severity=3, service="s", actor=name).id)
    print("\n".join(opened))


if __name__ == "__main__":
    main()
