"""One writer process of the concurrency tests (run as a script, not collected by pytest).

Usage: ``python worker.py DB_URL WORKER_NO WRITES CASE_ID,CASE_ID,... OUT.jsonl``

Makes WRITES calls through the Workspace API (a mix of ``note`` and ``set-fact``), each
carrying a unique token in its note, and writes one JSON line per call to OUT: the token,
the case, and whether the call was acknowledged or refused (with the error as the CLI
prints it).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys


def main(argv: list[str]) -> int:
    from treatyflow.app.core import Core
    from treatyflow.app.workspace import Workspace
    from treatyflow.catalog import load_catalog, shipped_workflows
    from treatyflow.cli.errors import message
    from treatyflow.errors import TreatyflowError
    from treatyflow.store import open_store

    url, worker, writes, case_list, out_path = argv
    cases = case_list.split(",")
    rng = random.Random(int(worker))
    store = open_store(url)
    svc = Workspace(Core(store, load_catalog([shipped_workflows()])))
    day = dt.date(2025, 7, 1)
    with open(out_path, "w", encoding="utf-8") as out:
        for n in range(int(writes)):
            case_id = rng.choice(cases)
            token = f"w{worker}-{n}"
            kind = "note" if rng.random() < 0.5 else "set-fact"
            try:
                if kind == "note":
                    svc.note(case_id, token, on=day, actor=f"analyst{worker}")
                else:
                    value = "true" if rng.random() < 0.5 else "false"
                    svc.set_fact(
                        case_id,
                        "armed_conflict",
                        value,
                        on=day,
                        actor=f"analyst{worker}",
                        note=token,
                    )
                outcome: dict[str, object] = {"token": token, "case": case_id, "ok": True}
            except TreatyflowError as exc:
                outcome = {"token": token, "case": case_id, "ok": False, "error": message(exc)}
            outcome["kind"] = kind
            out.write(json.dumps(outcome) + "\n")
            out.flush()
    store.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
