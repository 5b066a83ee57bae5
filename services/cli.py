"""`treaty`: the command line. Thin: parse, call a service, print. Reads the clock here."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from eventsourcing.persistence import PersistenceError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from domain.conventions import load_convention
from domain.dates import InvalidDateError, parse_date, parse_timestamp
from domain.errors import LedgerError
from services.bootstrap import System, bootstrap

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Treaty Ledger: the event-sourced record of a treaty's States, reports and obligations.")
out = Console()
err = Console(stderr=True)


class Format(StrEnum):
    table = "table"
    json = "json"


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _system() -> Iterator[System]:
    """Build the system; turn every deliberate error into one readable line and exit 2."""
    system = None
    try:
        system = bootstrap()
        yield system
    except (LedgerError, InvalidDateError, ValueError, LookupError) as e:
        err.print(f"[bold red]error:[/] {e}")
        raise typer.Exit(2) from None
    except PersistenceError as e:
        where = system.settings.location if system else "the configured store"
        err.print(f"[bold red]error:[/] the event store at {where} failed: {type(e).__name__}: {e}")
        raise typer.Exit(3) from None
    finally:
        if system is not None:
            system.close()


def _as_of(value: str | None) -> date:
    return parse_date(value, "--as-of") if value else _now().date()


def _known_at(value: str | None) -> datetime:
    return parse_timestamp(value, "--known-at") if value else _now()


AsOf = Annotated[str | None, typer.Option("--as-of", help="Valid date YYYY-MM-DD (default: today).")]
KnownAt = Annotated[str | None, typer.Option(
    "--known-at", help="Record time: answer as the ledger knew it then (YYYY-MM-DD = end of that day UTC, "
    "or an ISO timestamp). Default: now.")]


@app.command()
def load(dataset: Annotated[str, typer.Argument(help="Reference data set, e.g. ccm-2018.")] = "ccm-2018") -> None:
    """Load a reference data set into the ledger. Loading twice adds nothing."""
    from services.loader import load_dataset

    with _system() as system:
        out.print(f"Loading [bold]{dataset}[/] into {system.settings.location}")
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err, transient=True) as bar:
            task = bar.add_task("States", total=None)

            def progress(done: int, total: int, current: str) -> None:
                bar.update(task, completed=done, total=total, description=current)

            result = load_dataset(system.ledger, system.commands, dataset, now=_now(), progress=progress)
        out.print(f"{result.states} States: {result.events_added} events added, "
                  f"{result.events_skipped} already recorded.")
        for row in result.not_loaded:
            out.print(f"not loaded: {row}")


@app.command()
def status(
    as_of: AsOf = None, known_at: KnownAt = None,
    state: Annotated[str | None, typer.Option("--state", help="One State, by name, alias or ISO3.")] = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """Each State's participation, entry into force, reports and obligations on a date."""
    with _system() as system:
        result = system.queries.status(as_of=_as_of(as_of), known_at=_known_at(known_at), state=state)
    if fmt is Format.json:
        _print_json(result)
        return
    s = result["summary"]
    out.print(
        f"[bold]{result['convention']}[/] as of {result['as_of']}, as known at {result['known_at']}: "
        f"{s['states_parties']['count']} States Parties ({s['in_force']['count']} in force, "
        f"{s['party_not_yet_in_force']['count']} not yet in force), {s['signatories']['count']} signatories, "
        f"{s['joined']['count']} in all."
    )
    table = Table(show_lines=False, header_style="bold")
    table.add_column("State", min_width=16, overflow="fold")
    for col in ("ISO3", "Participation", "In force", "Initial report", "Annual overdue", "Art. 3", "Art. 4"):
        table.add_column(col)
    for st in result["states"]:
        if st["participation"] == "not_joined":
            continue
        rep = st["initial_report"]
        initial = "" if rep is None else (
            f"received {rep['received']['text']}" if rep["received"] else
            f"[red]overdue since {rep['overdue_since']}[/]" if rep["state"] == "overdue" else f"due {rep['due_on']}")
        late = [str(a["reporting_year"]) for a in st["annual_reports"] if a["state"] == "overdue"]
        annual = ", ".join(late) if len(late) <= 2 else f"{len(late)} years ({late[0]}-{late[-1]})"
        obligations = {o["article"]: o for o in st["obligations"]}
        table.add_row(
            st["name"], st["iso3"], st["participation"].replace("_", " "), st["entry_into_force_on"] or "",
            initial, annual, _obligation_cell(obligations.get(3)), _obligation_cell(obligations.get(4)),
        )
    out.print(table)


def _obligation_cell(o: dict[str, Any] | None) -> str:
    if o is None:
        return ""
    if o["state"] == "completed":
        return f"completed {o['completed']['text']}"
    if o["state"] == "overdue":
        return f"[red]overdue since {o['overdue_since']}[/]"
    return f"deadline {o['deadline_on']}"


@app.command()
def overdue(as_of: AsOf = None, known_at: KnownAt = None,
            all_rows: Annotated[bool, typer.Option(
                "--all", help="List every overdue annual report, not only those a source records as missing.")] = False,
            fmt: Annotated[Format, typer.Option("--format")] = Format.table) -> None:
    """Overdue Article 7 reports on a date: initial reports, then annual reports by year."""
    with _system() as system:
        result = system.queries.overdue(as_of=_as_of(as_of), known_at=_known_at(known_at))
    if fmt is Format.json:
        _print_json(result)
        return
    out.print(f"[bold]Initial reports overdue[/] as of {result['as_of']} ({len(result['initial'])}):")
    table = Table(header_style="bold")
    for col in ("State", "Due", "Overdue since", "Evidence"):
        table.add_column(col)
    for r in result["initial"]:
        table.add_row(r["name"], r["due_on"], r["overdue_since"], r["evidence"])
    out.print(table)
    by_year: dict[int, list[dict[str, Any]]] = {}
    for r in result["annual"]:
        by_year.setdefault(r["reporting_year"], []).append(r)
    out.print("[bold]Annual reports overdue[/] by reporting year ('recorded missing': a source says so; "
              "'no report recorded': the ledger holds no report, which may be a gap in its sources):")
    summary = Table(header_style="bold")
    for col in ("Year", "Due", "Recorded missing", "No report recorded"):
        summary.add_column(col)
    for year, rows in sorted(by_year.items()):
        missing = sum(r["evidence"] == "recorded missing" for r in rows)
        summary.add_row(str(year), rows[0]["due_on"], str(missing), str(len(rows) - missing))
    out.print(summary)
    shown = [r for r in result["annual"] if all_rows or r["evidence"] == "recorded missing"]
    if shown:
        table = Table(header_style="bold")
        for col in ("Year", "State", "Due", "Evidence", "Source"):
            table.add_column(col, overflow="fold")
        for r in shown:
            source = r["recorded_missing"]["source"] if r["recorded_missing"] else ""
            table.add_row(str(r["reporting_year"]), r["name"], r["due_on"], r["evidence"], source)
        out.print(table)
    if not all_rows:
        out.print("(--all lists every overdue annual report)")


@app.command()
def timeline(state: Annotated[str, typer.Argument(help="State name, alias or ISO3.")],
             as_of: AsOf = None, known_at: KnownAt = None,
             fmt: Annotated[Format, typer.Option("--format")] = Format.table) -> None:
    """A State's events in valid-time order, with record time, actor and source."""
    with _system() as system:
        result = system.queries.timeline(state=state, as_of=parse_date(as_of, "--as-of") if as_of else None,
                                         known_at=parse_timestamp(known_at, "--known-at") if known_at else None)
    if fmt is Format.json:
        _print_json(result)
        return
    table = Table(title=result["dossier_id"], header_style="bold", show_lines=True)
    for col in ("Event", "Occurred", "What", "Recorded", "By", "Source"):
        table.add_column(col, overflow="fold")
    for e in result["events"]:
        what = e["kind"] + "".join(f" {k}={v}" for k, v in e["data"].items()
                                   if k not in ("aliases",) and v not in (None, ""))
        if e["retracted_by"]:
            what = f"[strike]{what}[/] (retracted by {e['retracted_by']})"
        table.add_row(e["event_id"], e["occurred"], what, e["recorded_at"], e["recorded_by"], e["source"][:120])
    out.print(table)


Field = Annotated[list[str] | None, typer.Option("--field", help="Extra field key=value, repeatable.")]
Earliest = Annotated[str | None, typer.Option(
    "--from", help="Earliest possible day when only a range is known, or 'unknown' for a bound.")]
Actor = Annotated[str | None, typer.Option("--actor", help="Who records it (default: settings).")]


def _fields(pairs: list[str] | None) -> dict[str, str]:
    extra = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            err.print(f"[bold red]error:[/] --field: {pair!r} is not key=value (e.g. --field report=initial)")
            raise typer.Exit(2)
        extra[key.strip()] = value.strip()
    return extra


@app.command()
def record(
    fact: Annotated[str, typer.Argument(help="e.g. instrument_deposited, report_submitted, extension_granted")],
    state: Annotated[str, typer.Option("--state", help="State name, alias or ISO3.")],
    on: Annotated[str, typer.Option("--on", help="When it happened (YYYY-MM-DD; the latest possible day).")],
    source: Annotated[str, typer.Option("--source", help="The document it comes from.")],
    field: Field = None, earliest: Earliest = None, note: Annotated[str, typer.Option("--note")] = "",
    actor: Actor = None,
) -> None:
    """Record one treaty fact about a State (an immutable event)."""
    extra = _fields(field)
    with _system() as system:
        event_id = system.commands.record(
            state=state, fact=fact, occurred_on=on, occurred_from=earliest, source=source, note=note,
            actor=actor or system.settings.actor, now=_now(), **extra)
    out.print(f"recorded {event_id}")


@app.command()
def retract(
    event_id: Annotated[str, typer.Argument(help="The event to retract, e.g. CCM/BEN/3.")],
    reason: Annotated[str, typer.Option("--reason")],
    source: Annotated[str, typer.Option("--source")] = "correction",
    actor: Actor = None,
) -> None:
    """Record a correction that retracts an event from now on (earlier --known-at answers keep it)."""
    with _system() as system:
        new_id = system.commands.retract(event_id=event_id, reason=reason, source=source,
                                         actor=actor or system.settings.actor, now=_now())
    out.print(f"recorded {new_id}")


@app.command()
def supersede(
    event_id: Annotated[str, typer.Argument(help="The event to replace, e.g. CCM/BEN/3.")],
    fact: Annotated[str, typer.Argument(help="The corrected fact, e.g. instrument_deposited.")],
    on: Annotated[str, typer.Option("--on", help="When the corrected fact happened.")],
    reason: Annotated[str, typer.Option("--reason")],
    source: Annotated[str, typer.Option("--source")],
    field: Field = None, earliest: Earliest = None, actor: Actor = None,
) -> None:
    """Replace an event by a corrected fact in one transaction (retraction + new fact)."""
    extra = _fields(field)
    with _system() as system:
        new_id = system.commands.supersede(
            event_id=event_id, reason=reason, fact=fact, occurred_on=on, occurred_from=earliest, source=source,
            actor=actor or system.settings.actor, now=_now(), **extra)
    out.print(f"recorded {new_id} (supersedes {event_id})")


class ReportFormat(StrEnum):
    html = "html"
    md = "md"
    json = "json"


From = Annotated[str, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")]
To = Annotated[str, typer.Option("--to", help="Last day of the period (YYYY-MM-DD).")]
Plan = Annotated[str, typer.Option("--plan", help="Action plan data file (data/action-plans).")]


@app.command()
def report(
    start: From, end: To, known_at: KnownAt = None,
    fmt: Annotated[ReportFormat, typer.Option("--format")] = ReportFormat.html,
    out_file: Annotated[str | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
    plan: Plan = "dap-2015-2020",
) -> None:
    """The action plan's progress report for a period: every figure from the ledger's events."""
    from notifications.render import render

    with _system() as system:
        data = system.reports.progress_report(start=parse_date(start, "--from"), end=parse_date(end, "--to"),
                                              known_at=_known_at(known_at), plan_id=plan)
        convention_name = load_convention(data["convention"]).name
    if fmt is ReportFormat.json:
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
    else:
        text = render(f"reports/progress_report.{fmt.value}", {"report": data, "convention_name": convention_name})
    if out_file:
        Path(out_file).write_text(text, encoding="utf-8")
        err.print(f"wrote {out_file}")
    else:
        sys.stdout.write(text)


@app.command()
def indicators(
    start: From, end: To, known_at: KnownAt = None,
    indicator: Annotated[str | None, typer.Option("--id", help="One indicator id.")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="List the States and events behind each value.")] = False,
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
    plan: Plan = "dap-2015-2020",
) -> None:
    """Indicator values for a period; with --explain, the States and events behind each."""
    with _system() as system:
        data = system.reports.indicators(start=parse_date(start, "--from"), end=parse_date(end, "--to"),
                                         known_at=_known_at(known_at), plan_id=plan, indicator_id=indicator)
    if fmt is Format.json:
        _print_json(data)
        return
    out.print(f"[bold]{data['plan']['name']}[/] indicators, {data['period']['start']} to {data['period']['end']} "
              f"(previous: {data['previous_period']['start']} to {data['previous_period']['end']})")
    table = Table(header_style="bold", show_lines=explain)
    for col in ("Indicator", "Value", "Previous") + (("States and events",) if explain else ()):
        table.add_column(col, overflow="fold")
    for i in data["indicators"].values():
        row = [f"{i['label']}\n[dim]{i['id']}[/]", "n/a" if i["value"] is None else str(i["value"]),
               "n/a" if i["previous"] is None else str(i["previous"])]
        if explain:
            row.append(i["not_in_ledger"] or "; ".join(f"{s['name']} ({', '.join(s['event_ids'])})"
                                                          for s in i["states"]))
        table.add_row(*row)
    out.print(table)


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) on the configured store."""
    import uvicorn

    from services.http import create_app

    system = bootstrap()
    try:
        api = create_app(system)
        if not system.ledger.query("SELECT 1 FROM ledger_accounts LIMIT 1"):
            err.print("[yellow]no accounts yet:[/] create one with `treaty users add NAME --role isu` "
                      "and send its token as `Authorization: Bearer <token>`")
        out.print(f"Treaty Ledger API on http://{host}:{port}  (OpenAPI: http://{host}:{port}/docs; "
                  f"store: {system.settings.location})")
        uvicorn.run(api, host=host, port=port, log_level="warning")
    finally:
        system.close()


users = typer.Typer(help="Accounts of the HTTP API: ISU staff, coordinators, viewers.", no_args_is_help=True)
app.add_typer(users, name="users")


@users.command("add")
def users_add(
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Option("--role", help="isu, coordinator or viewer")],
    area: Annotated[str | None, typer.Option("--area", help="A coordinator's thematic area")] = None,
    if_missing: Annotated[bool, typer.Option("--if-missing", help="Do nothing if the account exists.")] = False,
    actor: Actor = None,
) -> None:
    """Create an account and print its token (shown once; only its hash is stored)."""
    from services.accounts import Accounts

    with _system() as system:
        accounts = Accounts(system.ledger)
        if if_missing and any(a["username"] == username for a in accounts.list()):
            out.print(f"{username} exists (its token was shown when it was created; "
                      f"`treaty users revoke {username}` and add it again for a new one)")
            return
        token = accounts.add(username=username, role=role, area=area, by=actor or system.settings.actor,
                             now=_now())
    out.print(f"created {username} ({role}{', ' + area if area else ''}); token, shown once:")
    sys.stdout.write(token + "\n")


@users.command("list")
def users_list() -> None:
    """List accounts (never their tokens)."""
    from services.accounts import Accounts

    with _system() as system:
        rows = Accounts(system.ledger).list()
    table = Table(header_style="bold")
    for col in ("User", "Role", "Area", "Created", "By", "Revoked"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["username"], r["role"], r["area"] or "", r["created_at"], r["created_by"],
                      r["revoked_at"] or "")
    out.print(table)


@users.command("revoke")
def users_revoke(username: Annotated[str, typer.Argument()], actor: Actor = None) -> None:
    """Revoke an account's token."""
    from services.accounts import Accounts

    with _system() as system:
        Accounts(system.ledger).revoke(username=username, by=actor or system.settings.actor, now=_now())
    out.print(f"revoked {username}")


reminders = typer.Typer(help="Reminder letters: find what is due, draft once, review, send once, track replies.",
                         no_args_is_help=True)
app.add_typer(reminders, name="reminders")


@reminders.command("run")
def reminders_run(
    as_of: AsOf = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be drafted; record nothing.")] = False,
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
    actor: Actor = None,
) -> None:
    """Draft every reminder due on a date (default: today) that is not yet recorded."""

    with _system() as system:
        result = system.reminders.run(
            as_of=_as_of(as_of), now=_now(), actor=actor or system.settings.actor, dry_run=dry_run)
    if fmt is Format.json:
        _print_json(result)
        return
    verb = "would draft" if dry_run else "drafted"
    out.print(f"Reminders due as of {result['as_of']}: {len(result['due'])}; {verb} {len(result['drafted'])}, "
              f"already recorded {len(result['already_recorded'])}, withdrawn {len(result['withdrawn'])}")
    table = Table(header_style="bold")
    for col in ("State", "Obligation", "Period", "Stage", "Due", "Days overdue", "Signatory", "Lang"):
        table.add_column(col, overflow="fold")
    for r in result["due"]:
        table.add_row(r["state"], r["obligation"], r["period"], r["stage"], r["due_on"], str(r["days_overdue"]),
                      r["signatory"], r["language"])
    out.print(table)
    for w in result["withdrawn"]:
        out.print(f"withdrawn {w['key']}: {w['reason']}")


@reminders.command("list")
def reminders_list(status: Annotated[str | None, typer.Option(
        "--status", help="drafted, approved, sent, replied or withdrawn")] = None) -> None:
    """Recorded reminders and their status (drafted, approved, sent, replied, withdrawn)."""

    with _system() as system:
        rows = system.reminders.list(status)
    table = Table(header_style="bold")
    for col in ("Key", "Status", "Drafted", "Signatory"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["key"], r["status"], r["drafted_at"], r["signatory"])
    out.print(table)


@reminders.command("show")
def reminders_show(key: Annotated[str, typer.Argument(help="e.g. CCM/BEN/initial_report/-/overdue")],
                   html: Annotated[bool, typer.Option("--html", help="The letter as an HTML page.")] = False,
                   to: Annotated[Path | None, typer.Option("--out", help="Write the letter to this file.")] = None
                   ) -> None:
    """The reminder letter, rendered in the State's language, with its status."""
    with _system() as system:
        service = system.reminders
        reminder = service.get(key)
        text = service.render(reminder, today=_now().date(), fmt="html" if html else "txt")
    if to is not None:
        to.parent.mkdir(parents=True, exist_ok=True)
        to.write_text(text, encoding="utf-8")
        out.print(f"{reminder['key']} ({reminder['status']}) written to {to}")
        return
    out.print(f"[bold]{reminder['key']}[/] ({reminder['status']})")
    sys.stdout.write(text)


@reminders.command("approve")
def reminders_approve(
    key: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Option("--role", help="isu or coordinator")] = "isu",
    actor: Actor = None,
) -> None:
    """Approve a drafted reminder for sending."""

    with _system() as system:
        reminder = system.reminders.approve(
            key=key, role=role, actor=actor or system.settings.actor, now=_now())
    out.print(f"approved {reminder['key']}")


@reminders.command("send")
def reminders_send(actor: Actor = None) -> None:
    """Drain the outbox: send approved letters by SMTP (TREATY_SMTP_HOST/PORT), each once."""
    with _system() as system:
        result = system.delivery.drain(now=_now(), actor=actor or system.settings.actor)
    out.print(f"sent {len(result['sent'])}, confirmed from the archive {len(result['confirmed_from_archive'])}, "
              f"failed (will retry) {len(result['failed'])}, waiting {len(result['waiting'])}, "
              f"in doubt (a person decides) {len(result['in_doubt'])}, "
              f"left to another sender {len(result['taken_by_another_sender'])}")
    for key in result["in_doubt"]:
        out.print(f"in doubt: {key} was handed to the mail server but its sending was not recorded, and the "
                  f"archive cannot tell; check the archive mailbox, then `treaty reminders resolve {key} "
                  "--delivered` or `--not-delivered`")


@reminders.command("resolve")
def reminders_resolve(
    key: Annotated[str, typer.Argument()],
    delivered: Annotated[bool, typer.Option("--delivered/--not-delivered",
                                            help="Whether the letter in doubt reached its addressee.")],
    actor: Actor = None,
) -> None:
    """Settle a letter in doubt: it arrived (record it as sent) or not (the outbox sends it)."""
    with _system() as system:
        reminder = system.delivery.resolve(key=key, delivered=delivered, actor=actor or system.settings.actor,
                                           now=_now())
    out.print(f"{reminder['key']}: " + ("recorded as sent" if delivered else "will be sent on the next drain"))


@reminders.command("reply")
def reminders_reply(
    key: Annotated[str, typer.Argument()],
    received_on: Annotated[str, typer.Option("--received-on", help="The day the reply arrived (YYYY-MM-DD).")],
    summary: Annotated[str, typer.Option("--summary", help="What the State answered, in a few words.")],
    reference: Annotated[str, typer.Option("--reference", help="The reply's own reference (note verbale no.).")] = "",
    actor: Actor = None,
) -> None:
    """Record the State's reply to a sent letter."""
    with _system() as system:
        reminder = system.reminders.reply(key=key, received_on=parse_date(received_on, "--received-on"),
                                          summary=summary, reply_reference=reference,
                                          actor=actor or system.settings.actor, now=_now())
    out.print(f"{reminder['key']}: reply of {received_on} recorded ({reminder['status']})")


@app.command()
def scheduler(every: Annotated[int, typer.Option("--every", min=1, help="Seconds between beats.")] = 60) -> None:
    """The one scheduler process: daily reminders for today, and the outbox, every beat."""
    from services.scheduler import AlreadyRunningError, Scheduler, guard_for, run_forever

    def report(beat: dict[str, Any]) -> None:
        line = f"{_now().isoformat(timespec='seconds')} beat for {beat['day']}:"
        if beat["reminders"] is not None:
            r = beat["reminders"]
            line += f" reminders drafted {len(r['drafted'])}, withdrawn {len(r['withdrawn'])};"
        if beat["delivery"] is not None:
            d = beat["delivery"]
            line += (f" sent {len(d['sent'])}, confirmed {len(d['confirmed_from_archive'])}, failed {len(d['failed'])},"
                     f" in doubt {len(d['in_doubt'])}")
        print(line, flush=True)

    with _system() as system:
        try:
            guard = guard_for(system.settings)
        except AlreadyRunningError as e:
            err.print(f"[bold red]error:[/] {e}")
            raise typer.Exit(4) from None
        print(f"scheduler running every {every} s on {system.settings.location} (Ctrl-C to stop)", flush=True)
        try:
            run_forever(Scheduler(system.ledger, system.reminders, system.delivery, actor="scheduler"),
                        every_seconds=every, report=report)
        except KeyboardInterrupt:
            print("scheduler stopped", flush=True)
        finally:
            guard.close()


audit = typer.Typer(help="Explain what the ledger did and why.", no_args_is_help=True)
app.add_typer(audit, name="audit")


@audit.command("letter")
def audit_letter(key: Annotated[str, typer.Argument(help="A reminder key, e.g. CCM/BEN/initial_report/-/overdue")],
                 fmt: Annotated[Format, typer.Option("--format")] = Format.json) -> None:
    """A reminder letter end to end: rule and stage, the status that triggered it as known at
    the run, the run that drafted it, and every later step."""

    with _system() as system:
        result = system.reminders.audit(key)
    if fmt is Format.json:
        _print_json(result)
        return
    out.print(f"[bold]{result['reference']}[/] ({result['status']})")
    out.print(f"rule: {result['rule']['obligation']}, stage {result['rule']['stage']['id']} "
              f"({result['rule']['stage']['offset_days']:+d} days, signed by {result['rule']['stage']['signatory']}), "
              f"Article {result['rule']['article']}, Action {result['rule']['action_point']}")
    out.print(f"trigger: due {result['trigger']['due_on']}, {result['trigger']['days_overdue_at_run']} days overdue "
              f"at the run; events {', '.join(result['trigger']['cause_event_ids'])}")
    out.print(f"run: as of {result['run']['as_of']}, recorded {result['run']['recorded_at']} by "
              f"{result['run']['recorded_by']}")
    for step in result["history"]:
        out.print(f"  {step['recorded_at']}  {step['kind']}  by {step['recorded_by']}")


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


if __name__ == "__main__":
    app()
