"""Turn SOURCE arguments into concrete inputs: what to read, how, and under which config.

Each kind of source is one entry of ``SOURCE_KINDS``, tried in order: the embedded sample, a
dataset on the Hugging Face hub, and files (a file, a directory, a glob, a saved ``datasets``
directory). A new kind of source is a resolver and one entry there.
"""

from __future__ import annotations

import glob
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from foundation.dataset import HUB_CONFIGS, HUB_DATASET
from foundation.errors import SourceError
from ingest.inputs import DEFAULT_CONFIG, Input
from ingest.synthetic.sample import sample_inputs

TEXT_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".ndjson")
DATA_SUFFIXES = (".parquet",) + TEXT_SUFFIXES


def _has_data_suffix(path: Path) -> bool:
    return path.name.endswith(DATA_SUFFIXES)


def _file_input(path: Path, config: str) -> Input:
    kind = "parquet" if path.name.endswith(".parquet") else "text"
    return Input(uri=str(path), config=config, kind=kind, path=path)


def _config_from_path(path: Path) -> str | None:
    """``…/data/<config>/train.parquet`` → ``<config>``."""
    parts = path.parts
    for i in range(len(parts) - 3, -1, -1):
        if parts[i] == "data":
            return parts[i + 1]
    return None


def _hub_dataset(name: str, configs: tuple[str, ...]) -> list[Input]:
    def loader(config: str) -> Callable[[], pa.Table]:
        def load() -> pa.Table:
            import datasets

            try:
                ds = datasets.load_dataset(name, config, split="train")
            except Exception as exc:  # datasets raises many types; all mean "could not load"
                raise SourceError(f"could not load hf:{name} config {config!r}: {exc}") from exc
            return ds.data.table

        return load

    return [Input(uri=f"hf://{name}/{config}", config=config, kind="arrow", arrow=loader(config)) for config in configs]


def _saved_dataset(path: Path, config: str | None) -> list[Input]:
    import datasets

    def load() -> pa.Table:
        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.DatasetDict):
            split = "train" if "train" in loaded else next(iter(loaded))
            loaded = loaded[split]
        return loaded.data.table

    return [Input(uri=str(path), config=config or DEFAULT_CONFIG, kind="arrow", arrow=load)]


def _directory(path: Path, config: str | None) -> list[Input]:
    if (path / "dataset_info.json").exists() or (path / "state.json").exists() or (path / "dataset_dict.json").exists():
        return _saved_dataset(path, config)
    files = sorted(p for p in path.rglob("*") if p.is_file() and _has_data_suffix(p))
    if not files:
        raise SourceError(f"{path}: directory holds no data files (.parquet, .jsonl, .json, .jsonl.gz)")
    inputs = []
    for file in files:
        file_config = config or _config_from_path(file) or DEFAULT_CONFIG
        inputs.append(_file_input(file, file_config))
    return inputs


def _sample(source: str, config: str | None, sample_rows: int | None) -> list[Input]:
    return sample_inputs(config=config, rows=sample_rows)


def _hub(source: str, config: str | None, sample_rows: int | None) -> list[Input]:
    name = source[3:]
    if not name:
        raise SourceError(f"hf: needs a dataset name, e.g. hf:{HUB_DATASET}")
    configs = (config,) if config else HUB_CONFIGS
    return _hub_dataset(name, configs)


def _files(source: str, config: str | None, sample_rows: int | None) -> list[Input]:
    path = Path(source).expanduser()
    if any(ch in source for ch in "*?["):
        matches = sorted(Path(p) for p in glob.glob(str(path), recursive=True))
        files = [p for p in matches if p.is_file() and _has_data_suffix(p)]
        if not files:
            raise SourceError(f"{source}: the pattern matches no .parquet, .jsonl or .json files")
        return [_file_input(p, config or _config_from_path(p) or DEFAULT_CONFIG) for p in files]
    if not path.exists():
        raise SourceError(f"{source}: no such file or directory")
    if path.is_dir():
        return _directory(path.resolve(), config)
    if not _has_data_suffix(path):
        raise SourceError(f"{source}: not a data file (expected .parquet, .jsonl, .json or .jsonl.gz)")
    return [_file_input(path.resolve(), config or _config_from_path(path.resolve()) or DEFAULT_CONFIG)]


@dataclass(frozen=True)
class SourceKind:
    """One way of naming data on the command line."""

    name: str
    claims: Callable[[str], bool]
    resolve: Callable[[str, str | None, int | None], list[Input]]
    # Whether it names files a Spark cluster can read itself (the others are made in this process).
    files: bool


SOURCE_KINDS: tuple[SourceKind, ...] = (
    SourceKind("sample", lambda source: source == "sample", _sample, files=False),
    SourceKind("hub", lambda source: source.startswith("hf:"), _hub, files=False),
    SourceKind("files", lambda source: True, _files, files=True),
)


def source_kind(source: str) -> SourceKind:
    return next(kind for kind in SOURCE_KINDS if kind.claims(source))


def resolve(source: str, config: str | None = None, sample_rows: int | None = None) -> list[Input]:
    """Resolve one SOURCE argument; ``config`` (from --config) overrides every other origin."""
    return source_kind(source).resolve(source, config, sample_rows)
