"""Open the study's database: SQLite on one machine, PostgreSQL across machines.

Optuna's `RDBStorage` does the work; this module only chooses its settings:

* SQLite: WAL journal (readers never block the writer) and a long busy timeout,
  so several workers on one machine wait for the lock instead of failing on
  "database is locked".
* PostgreSQL: `pool_pre_ping`, so a worker survives a server restart or a
  connection dropped by a firewall; `postgresql://` URLs get the psycopg 3
  driver we install.
* Heartbeats on: a worker that dies leaves a trial whose heartbeat stops; the
  next live worker to start a trial fails it and Optuna's
  `RetryHeartbeatStaleTrialCallback` enqueues a retry with the same parameters.

Unreachable databases are one line (`ConnectionError`) with the password masked.
"""

from __future__ import annotations

import json
import os
import sqlite3
import weakref
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
import sqlalchemy.dialects.postgresql
import sqlalchemy.dialects.sqlite
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback, _CachedStorage
from optuna.trial import TrialState

from studies._redact import redact

DEFAULT_STORAGE = "sqlite:///shortcut_nas.db"
HEARTBEAT_INTERVAL = int(os.environ.get("SHORTCUT_NAS_HEARTBEAT_INTERVAL", "10"))  # seconds
GRACE_PERIOD = int(os.environ.get("SHORTCUT_NAS_GRACE_PERIOD", "30"))  # seconds without a beat
FINAL_FAIL_KEY = "final_failure"  # system attribute of a trial that failed for good
MAX_RETRY = 3  # a trial whose worker keeps dying is retried at most this often
SQLITE_BUSY_TIMEOUT = 120  # seconds a SQLite writer waits for the lock


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (psycopg2 is not a dependency)."""
    url = url.strip()
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def engine_kwargs(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT}}
    return {"pool_pre_ping": True}


def open_storage(
    url: str = DEFAULT_STORAGE,
    *,
    heartbeat_interval: int | None = HEARTBEAT_INTERVAL,
    grace_period: int | None = GRACE_PERIOD,
) -> RDBStorage:
    """An Optuna RDB storage for `url`, created if it does not exist yet.

    Raises:
        ConnectionError: the database cannot be reached or opened (password masked).
        ValueError: the URL is not a database URL Optuna can use.
    """
    url = normalise_url(url)
    check_url(url)
    if url.startswith("sqlite:///"):
        prepare_sqlite(url)
    try:
        storage = RDBStorage(
            url,
            engine_kwargs=engine_kwargs(url),
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY),
        )
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as error:
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
        raise ConnectionError(
            f"cannot open storage {redact(url)}: {redact(reason)}; check the URL, that the "
            "server runs and that the database exists"
        ) from None
    except ImportError:  # Optuna re-raises a missing driver as a bare ImportError
        driver = sqlalchemy.engine.make_url(url).get_driver_name()
        raise ValueError(
            f"storage {redact(url)} needs the {driver!r} driver, which is not installed; for "
            "PostgreSQL use postgresql+psycopg://... with pip install 'shortcut-nas[postgres]'"
        ) from None
    if url.startswith("sqlite"):
        sqlalchemy.event.listen(storage.engine, "connect", _sqlite_pragmas)
        storage.engine.dispose()  # connections opened so far lack the pragmas
    # Close pooled connections properly when the storage goes away or at exit (a server
    # logs no dropped client), also when the command line leaves without the interpreter's
    # teardown (studies/_exit.py runs atexit). A finalizer, not atexit.register: a process
    # that opens many storages (tests, a notebook) does not keep every engine alive.
    weakref.finalize(storage, storage.engine.dispose)
    return storage


def _sqlite_pragmas(connection: Any, record: Any) -> None:
    """synchronous=NORMAL: in WAL mode a commit no longer waits for an fsync.

    A trial writes a few dozen small rows (attributes, heartbeats, checkpoints);
    with the default FULL each is a disk flush. NORMAL keeps the database
    consistent after a crash of the process; only a power cut may lose the last
    commits, which heartbeats and retries already cover.
    """
    cursor = connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def check_url(url: str) -> None:
    try:
        parsed = sqlalchemy.engine.make_url(url)
    except sqlalchemy.exc.ArgumentError:
        raise ValueError(
            f"storage {redact(url)!r} is not a database URL; use sqlite:///PATH.db or "
            "postgresql+psycopg://USER:PASSWORD@HOST/DB"
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql", "mysql"):
        raise ValueError(
            f"storage backend {parsed.get_backend_name()!r} is not supported; "
            "use sqlite or postgresql"
        )


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None: in memory)."""
    path = url.removeprefix("sqlite:///").split("?")[0]
    return None if path in ("sqlite://", "", ":memory:") else Path(path)


def check_database_exists(url: str) -> None:
    """A query never creates a database: a SQLite file that is not there is one clear line.

    Opening it would create an empty database in the current directory (and then
    report that it holds no studies), the usual mistake being a relative path run
    from another directory than the search.
    """
    if not url.startswith("sqlite:"):
        return
    path = sqlite_file(url)
    if path is None:
        raise ValueError(f"storage {url} is an empty in-memory database; pass a file URL")
    if not path.exists():
        raise ValueError(
            f"no database at {path.absolute()} (storage {url}); run this where the "
            "search ran (relative paths are), or pass its config or --storage"
        )


def prepare_sqlite(url: str) -> None:
    """Create the file in WAL mode (a property of the file, kept for every later opening)."""
    path = sqlite_file(url)
    if path is None:
        return
    if not path.parent.exists():
        raise ConnectionError(
            f"cannot open storage {url}: directory {path.parent} does not exist; create it first"
        )
    with sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


class SearchStorage(_CachedStorage):
    """Optuna's own wrapper of an RDB storage (what `create_study` makes of one), with one
    read made cheap: a trial's system attributes.

    Why: Hyperband (successive halving) reads the running trial's system attributes at
    every report, to find the rung it reached. The cached storage answers by loading the
    whole running trial -- parameters, values, every attribute and intermediate value, six
    queries -- each epoch of every trial (2-5 ms on SQLite here, more over the network).
    One query over the system-attribute table returns the same dict.
    """

    def get_trial_system_attrs(self, trial_id: int) -> dict[str, Any]:
        with self._lock:
            cached = self._get_cached_trial(trial_id)  # finished trials never change
        if cached is not None:
            return cached.system_attrs
        return trial_system_attrs(self._backend, trial_id)


def trial_system_attrs(backend: RDBStorage, trial_id: int) -> dict[str, Any]:
    """`backend.get_trial(trial_id).system_attrs` in one query (KeyError: no such trial)."""
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    table = models.TrialSystemAttributeModel
    with _create_scoped_session(backend.scoped_session) as session:
        rows = session.query(table.key, table.value_json).filter(table.trial_id == trial_id)
        attrs = {key: json.loads(value) for key, value in rows}
        if not attrs:
            models.TrialModel.find_or_raise_by_id(trial_id, session)
    return attrs


def study_names(storage: RDBStorage) -> list[str]:
    return [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]


def set_user_attrs(trial: optuna.trial.Trial, attrs: dict[str, Any]) -> None:
    """Several user attributes of a running trial, in one statement and one transaction.

    Optuna commits each `set_user_attr` on its own, and each is two statements (find
    the trial, upsert the row): a trial records ~20 at its end, ~40 round trips to
    PostgreSQL. On SQLite and PostgreSQL this is one multi-row upsert into Optuna's
    own table, after the same "is the trial still running" check Optuna makes; any
    other storage sets them one by one through Optuna.
    """
    backend = getattr(trial.storage, "_backend", trial.storage)
    dialect = getattr(getattr(backend, "engine", None), "name", None)
    if not attrs or not isinstance(backend, RDBStorage) or dialect not in UPSERT:
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        return
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    table = models.TrialUserAttributeModel
    rows = [{"trial_id": trial._trial_id, "key": k, "value_json": json.dumps(v)}
            for k, v in attrs.items()]  # fmt: skip
    insert: Any = UPSERT[dialect](table).values(rows)  # the dialect's Insert (has upserts)
    upsert = insert.on_conflict_do_update(
        index_elements=[table.trial_id, table.key], set_={"value_json": insert.excluded.value_json}
    )
    with _create_scoped_session(backend.scoped_session, True) as session:
        state: Any = models.TrialModel.find_or_raise_by_id(trial._trial_id, session).state
        backend.check_trial_is_updatable(trial._trial_id, state)  # a TrialState at run time
        session.execute(upsert)
    trial._cached_frozen_trial.user_attrs.update(attrs)  # what Trial.set_user_attr also does


UPSERT = {
    "sqlite": sqlalchemy.dialects.sqlite.insert,
    "postgresql": sqlalchemy.dialects.postgresql.insert,
}


# -- counts without loading trials ---------------------------------------------------------
# Optuna's `get_trials` (and `get_n_trials`, built on it) loads every trial with all its
# attributes; the worker loop asks "how many trials are in each state?" before every
# trial, so on a large study (or over the network to PostgreSQL: ~25 ms at 12 trials)
# that grows with the study. On an RDBStorage these are single SQL aggregates over
# Optuna's own tables; on any other storage, the loading way.


def _rdb(study: optuna.Study) -> Any:
    backend = getattr(study._storage, "_backend", study._storage)
    if not isinstance(backend, RDBStorage):
        return None
    try:
        from optuna.storages._rdb import models
    except ImportError:
        return None
    return backend, models


def count_states(study: optuna.Study) -> dict[TrialState, int]:
    """Trials of `study` by state."""
    rdb = _rdb(study)
    if rdb is None:
        counts: dict[TrialState, int] = {}
        for trial in study.get_trials(deepcopy=False):
            counts[trial.state] = counts.get(trial.state, 0) + 1
        return counts
    backend, models = rdb
    query = (
        sqlalchemy.select(models.TrialModel.state, sqlalchemy.func.count())
        .where(models.TrialModel.study_id == study._study_id)
        .group_by(models.TrialModel.state)
    )
    with backend.engine.connect() as conn:  # the column is an Enum(TrialState)
        return {state: int(n) for state, n in conn.execute(query)}


def count_final_failures(study: optuna.Study) -> int:
    """FAILed trials that failed for good (a diverged loss, out of memory): spent budget.

    Marked by `studies.objective.fail` with the `final_failure` system attribute. Other
    FAILs spend none: a pre-empted or stale trial (its retry counts), a surplus one, and
    one that crashed on an error the user fixes before running the command again.
    """
    rdb = _rdb(study)
    if rdb is None:
        return sum(1 for t in study.get_trials(deepcopy=False) if FINAL_FAIL_KEY in t.system_attrs)
    backend, models = rdb
    trial, attr = models.TrialModel, models.TrialSystemAttributeModel
    query = (
        sqlalchemy.select(sqlalchemy.func.count())
        .select_from(attr)
        .join(trial, attr.trial_id == trial.trial_id)
        .where(trial.study_id == study._study_id, attr.key == FINAL_FAIL_KEY)
    )
    with backend.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def count_before(study: optuna.Study, number: int, states: tuple[TrialState, ...]) -> int:
    """Trials in `states` whose number is smaller than `number`."""
    rdb = _rdb(study)
    if rdb is None:
        return sum(1 for t in study.get_trials(deepcopy=False, states=states) if t.number < number)
    backend, models = rdb
    trial = models.TrialModel
    query = sqlalchemy.select(sqlalchemy.func.count()).where(
        trial.study_id == study._study_id, trial.number < number, trial.state.in_(states)
    )
    with backend.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def completed_with_attr(
    study: optuna.Study, key: str, value: Any, exclude: int
) -> optuna.trial.FrozenTrial | None:
    """The first COMPLETE trial (not number `exclude`) whose user attribute `key` is `value`."""
    rdb = _rdb(study)
    if rdb is None:
        for frozen in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            if frozen.number != exclude and frozen.user_attrs.get(key) == value:
                return frozen
        return None
    backend, models = rdb
    trial, attr = models.TrialModel, models.TrialUserAttributeModel
    query = (
        sqlalchemy.select(trial.trial_id)
        .join(attr, attr.trial_id == trial.trial_id)
        .where(trial.study_id == study._study_id, trial.state == TrialState.COMPLETE,
               trial.number != exclude, attr.key == key, attr.value_json == json.dumps(value))
        .order_by(trial.number)
        .limit(1)
    )  # fmt: skip
    with backend.engine.connect() as conn:
        trial_id = conn.execute(query).scalar_one_or_none()
    return None if trial_id is None else backend.get_trial(trial_id)
