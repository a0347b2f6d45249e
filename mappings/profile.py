"""Loading a profile: YAML → validated specs, every problem at once, and the dependency order of its steps.

A broken profile reports each problem with the file, the path inside the file and what is wrong, all in one
`ProfileError` — a person fixing a profile should never have to run the loader once per typo.  Steps are
validated one by one so a bad step does not hide the problems of the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from mappings import health
from mappings.functions import CONVERTERS, DERIVATIONS
from mappings.registry import MODELS, PathError, ValueInfo, resolve_path
from mappings.spec import (
    FieldSpec,
    Plugin,
    PluginField,
    PluginObject,
    ProfileHeader,
    StepSpec,
    template_parts,
)

PROFILE_NAMES = ("npsp_pmm", "nonprofit_cloud", "salesforce_core")
KEY_FIELD_LENGTH = 80


@dataclass(frozen=True, slots=True)
class SpecProblem:
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


class ProfileError(Exception):
    """A profile file is broken; `problems` lists every problem found."""

    def __init__(self, problems: Sequence[SpecProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class CycleError(ValueError):
    """The steps' lookups form a cycle; `cycle` names it, first step repeated at the end."""

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = tuple(cycle)
        super().__init__("lookup cycle: " + " -> ".join(self.cycle))


def dependency_order(dependencies: Mapping[str, Iterable[str]], preferred: Sequence[str] | None = None) -> list[str]:
    """Topological order (dependencies first); ties keep `preferred` (file) order so the result is stable.

    Raises CycleError naming one cycle when there is no such order.
    """
    names = list(preferred) if preferred is not None else sorted(dependencies)
    names += sorted(set(dependencies) - set(names))
    deps = {n: set(dependencies.get(n, ())) & set(names) for n in names}
    done: list[str] = []
    placed: set[str] = set()
    while len(done) < len(names):
        ready = next((n for n in names if n not in placed and deps[n] <= placed), None)
        if ready is None:
            raise CycleError(_find_cycle({n: deps[n] - placed for n in names if n not in placed}, names))
        done.append(ready)
        placed.add(ready)
    return done


def _find_cycle(deps: Mapping[str, set[str]], names: Sequence[str]) -> list[str]:
    start = next(n for n in names if n in deps)
    path = [start]
    seen = {start: 0}
    current = start
    while True:
        current = next(n for n in names if n in deps[current])
        if current in seen:
            return [*path[seen[current] :], current]
        seen[current] = len(path)
        path.append(current)


@dataclass(frozen=True)
class Profile:
    """A loaded, checked profile.  Steps are in file order; `order` is their dependency order."""

    name: str
    file: str
    header: ProfileHeader
    steps: dict[str, StepSpec]
    plugin: Plugin
    order: tuple[str, ...]
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def key_field(self) -> str:
        return self.header.key_field

    @property
    def api_version(self) -> str:
        return self.header.api_version

    @property
    def flags(self) -> dict[str, str]:
        return dict(self.header.flags)

    @property
    def detect(self) -> dict[str, str]:
        """Flags the org decides: flag → `Object.Field` whose presence in the org's describe switches it on."""
        return dict(self.header.detect)

    @property
    def settings(self) -> dict[str, str]:
        return dict(self.header.settings)

    def uses_detected_flags(self, step: str) -> bool:
        """Whether the step's fields depend on what the org's describe says (so the sync must detect first)."""
        detected = set(self.header.detect)
        return any(f.when in detected or f.unless in detected for f in self.steps[step].fields.values())

    def key_field_of(self, step: str) -> str:
        return self.steps[step].key_field or self.header.key_field

    def position(self, step: str) -> int:
        return self.order.index(step)

    def dependencies(self, step: str) -> tuple[str, ...]:
        """The steps whose records must exist before this step's: its lookups and its explicit `after`."""
        spec = self.steps[step]
        found = [f.lookup.step for f in spec.fields.values() if f.lookup is not None]
        found += list(spec.after)
        return tuple(dict.fromkeys(d for d in found if d != step))

    def steps_for(self, model: str) -> list[str]:
        """Steps mapping a model, in dependency order."""
        return [s for s in self.order if self.steps[s].model == model]

    @cached_property
    def object_order(self) -> tuple[str, ...]:
        """CRM objects in the order they must be written (each at the position of its first step)."""
        return tuple(dict.fromkeys(self.steps[s].object for s in self.order))

    def related_needs(self, model: str) -> set[str]:
        """The other models a transform of `model` reads, so the engine can fetch them in one batch first."""
        needs: set[str] = set()
        for step in self.steps_for(model):
            spec = self.steps[step]
            paths = [p for p, _ in template_parts(spec.key)]
            if spec.skip_when is not None:
                paths.append(spec.skip_when)
            for f in spec.fields.values():
                if f.source is not None:
                    paths.append(f.source)
                if f.template is not None:
                    paths += [p for p, _ in template_parts(f.template)]
                if f.derive is not None:
                    needs |= set(DERIVATIONS[f.derive].needs)
            for path in paths:
                visited, _ = resolve_path(model, path)
                needs |= set(visited)
        return needs

    @cached_property
    def written_objects(self) -> tuple[str, ...]:
        return self.object_order

    def plugin_fields(self) -> dict[str, dict[str, PluginField]]:
        """Declared plugin fields plus the key field of every object a step writes (Text 80, External ID, Unique)."""
        result: dict[str, dict[str, PluginField]] = {obj: dict(fields) for obj, fields in self.plugin.fields.items()}
        for step, spec in self.steps.items():
            key_field = self.key_field_of(step)
            declared = result.setdefault(spec.object, {})
            if key_field not in declared:
                declared[key_field] = PluginField(
                    type="Text",
                    label="Ignite Key",
                    description="The Ignite program's stable key for this record; the sync upserts on it.",
                    length=KEY_FIELD_LENGTH,
                    external_id=True,
                    unique=True,
                    case_sensitive=True,
                )
        return {obj: dict(sorted(fields.items())) for obj, fields in sorted(result.items())}

    def describe_objects(self) -> tuple[str, ...]:
        """Every object the profile writes, looks up or declares, sorted: what its snapshots must describe."""
        objects = set(self.written_objects) | set(self.header.describe_also) | set(self.plugin.objects)
        for fields in self.plugin_fields().values():
            objects |= {f.reference_to for f in fields.values() if f.reference_to}
        return tuple(sorted(objects))


def _loc_path(prefix: str, loc: Iterable[Any]) -> str:
    parts = [prefix] if prefix else []
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
        else:
            parts.append(str(item))
    return ".".join(parts) or "(file)"


def _problems_from(file: str, prefix: str, error: ValidationError) -> list[SpecProblem]:
    problems = []
    for item in error.errors(include_url=False):
        message = item["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        loc = [part for part in item["loc"] if not str(part).startswith("function-")]
        problems.append(SpecProblem(file, _loc_path(prefix, loc), message))
    return problems


M = TypeVar("M", bound=BaseModel)


def _validated(cls: type[M], raw: object, file: str, path: str, problems: list[SpecProblem]) -> M | None:
    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_problems_from(file, path, exc))
        return None


def _check_path(model: str, path: str, where: str, file: str, problems: list[SpecProblem]) -> ValueInfo | None:
    try:
        return resolve_path(model, path)[1]
    except PathError as exc:
        problems.append(SpecProblem(file, where, str(exc)))
        return None


def _check_field(
    model: str,
    name: str,
    spec: FieldSpec,
    where: str,
    steps: Mapping[str, object],
    file: str,
    out: list[SpecProblem],
    flags: Mapping[str, str] | None = None,
) -> None:
    info: ValueInfo | None = None
    for flag_attr in ("when", "unless"):
        flag = getattr(spec, flag_attr)
        if flag is not None and flags is not None and flag not in flags:
            out.append(SpecProblem(file, f"{where}.{flag_attr}", f"flag {flag!r} is not declared under flags"))
    if spec.source is not None:
        info = _check_path(model, spec.source, f"{where}.source", file, out)
    if spec.template is not None:
        for path, _ in template_parts(spec.template):
            _check_path(model, path, f"{where}.template", file, out)
    if spec.derive is not None:
        derivation = DERIVATIONS.get(spec.derive)
        if derivation is None:
            out.append(SpecProblem(file, f"{where}.derive", f"unknown derivation {spec.derive!r}"))
        elif derivation.model != model:
            out.append(
                SpecProblem(file, f"{where}.derive", f"{spec.derive} derives from {derivation.model}, not {model}")
            )
    if spec.convert is not None and spec.convert not in CONVERTERS:
        known = ", ".join(sorted(CONVERTERS))
        out.append(SpecProblem(file, f"{where}.convert", f"unknown converter {spec.convert!r}; known: {known}"))
    if spec.lookup is not None and spec.lookup.step not in steps:
        out.append(SpecProblem(file, f"{where}.lookup.step", f"no step named {spec.lookup.step!r}"))
    if spec.value_map is not None and info is not None and info.choices is not None and spec.convert is None:
        missing = [c for c in info.choices if c not in spec.value_map]
        if missing:
            out.append(SpecProblem(file, f"{where}.value_map", f"no entry for {', '.join(map(repr, missing))}"))
        extra = [k for k in spec.value_map if k not in info.choices]
        if extra:
            out.append(
                SpecProblem(
                    file, f"{where}.value_map", f"{', '.join(map(repr, extra))} is not a value of {spec.source}"
                )
            )
    if spec.format is not None and info is not None and info.kind not in ("date", "datetime"):
        out.append(SpecProblem(file, f"{where}.format", f"{spec.source} is {info.kind}, not a date or datetime"))


def _check_step(
    name: str, step: StepSpec, steps: Mapping[str, object], flags: Mapping[str, str], file: str
) -> list[SpecProblem]:
    out: list[SpecProblem] = []
    where = f"steps.{name}"
    if step.model not in MODELS:
        known = ", ".join(sorted(MODELS))
        out.append(SpecProblem(file, f"{where}.model", f"unknown model {step.model!r}; known: {known}"))
        return out
    for path, _ in template_parts(step.key):
        _check_path(step.model, path, f"{where}.key", file, out)
    for flag_attr in ("when", "unless"):
        flag = getattr(step, flag_attr)
        if flag is not None and flag not in flags:
            out.append(SpecProblem(file, f"{where}.{flag_attr}", f"flag {flag!r} is not declared under flags"))
    if step.skip_when is not None:
        info = _check_path(step.model, step.skip_when, f"{where}.skip_when", file, out)
        if info is not None and info.kind != "boolean":
            out.append(SpecProblem(file, f"{where}.skip_when", f"{step.skip_when} is {info.kind}, not a boolean"))
    for dep in step.after:
        if dep not in steps:
            out.append(SpecProblem(file, f"{where}.after", f"no step named {dep!r}"))
    for field_name, spec in step.fields.items():
        _check_field(step.model, field_name, spec, f"{where}.fields.{field_name}", steps, file, out, flags)
    return out


_SETTING = re.compile(r"^\$\{([a-z][a-z0-9_]*)\}$")


def _with_settings(raw: object, settings: Mapping[str, str], where: str, file: str, out: list[SpecProblem]) -> object:
    """A value written `${name}` anywhere in a step is the profile setting `name` (an org-specific choice such as
    the grant stage), so a site changes it in one place under `settings:`."""
    if isinstance(raw, dict):
        return {k: _with_settings(v, settings, f"{where}.{k}", file, out) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_with_settings(v, settings, where, file, out) for v in raw]
    if isinstance(raw, str) and (match := _SETTING.match(raw)):
        if match.group(1) not in settings:
            out.append(SpecProblem(file, where, f"setting {match.group(1)!r} is not declared under settings"))
            return raw
        return settings[match.group(1)]
    return raw


def _check_header(header: ProfileHeader, file: str, out: list[SpecProblem]) -> None:
    for flag, target in header.detect.items():
        if flag not in header.flags:
            out.append(SpecProblem(file, f"detect.{flag}", f"flag {flag!r} is not declared under flags"))
        if not re.match(r"^[A-Za-z][A-Za-z0-9_]*\.[A-Za-z][A-Za-z0-9_]*$", target):
            out.append(SpecProblem(file, f"detect.{flag}", f"{target!r} is not Object.Field"))


def _load_step(
    name: str, raw: object, header: ProfileHeader, file: str, problems: list[SpecProblem]
) -> StepSpec | None:
    """Fields are validated one by one first, so a bad field hides neither its siblings nor the step's checks."""
    where = f"steps.{name}"
    raw = _with_settings(raw, header.settings, where, file, problems)
    if not isinstance(raw, dict):
        problems.append(SpecProblem(file, where, "a step must be a mapping"))
        return None
    raw_fields = raw.get("fields")
    if not isinstance(raw_fields, dict) or not raw_fields:
        problems.append(SpecProblem(file, f"{where}.fields", "a step needs at least one field"))
        raw_fields = {}
    fields: dict[str, FieldSpec] = {}
    for field_name, raw_field in raw_fields.items():
        spec = _validated(FieldSpec, raw_field, file, f"{where}.fields.{field_name}", problems)
        if spec is not None:
            fields[str(field_name)] = spec
    step = _validated(StepSpec, {**raw, "fields": fields}, file, where, problems)
    if step is not None:
        problems.extend(_check_step(name, step, header.steps, header.flags, file))
    elif raw.get("model") in MODELS:
        for field_name, spec in fields.items():
            _check_field(
                str(raw["model"]),
                field_name,
                spec,
                f"{where}.fields.{field_name}",
                header.steps,
                file,
                problems,
                header.flags,
            )
    return step


def load_profile_data(data: object, file: str) -> Profile:
    """Validate parsed YAML into a Profile, or raise ProfileError listing every problem."""
    problems: list[SpecProblem] = []
    header = _validated(ProfileHeader, data, file, "", problems)
    if header is None:
        raise ProfileError(problems)
    _check_header(header, file, problems)
    stem = Path(file).stem
    if header.profile != stem and stem in PROFILE_NAMES:
        problems.append(SpecProblem(file, "profile", f"must be {stem!r} to match the file name"))
    steps: dict[str, StepSpec] = {}
    for name, raw in header.steps.items():
        step = _load_step(str(name), raw, header, file, problems)
        if step is not None:
            steps[str(name)] = step
    plugin_objects: dict[str, PluginObject] = {}
    plugin_fields: dict[str, dict[str, PluginField]] = {}
    raw_plugin = header.plugin
    unknown = set(raw_plugin) - {"objects", "fields"}
    for key in sorted(unknown):
        problems.append(SpecProblem(file, f"plugin.{key}", "unknown section (expected objects or fields)"))
    raw_objects = raw_plugin.get("objects") or {}
    raw_fields = raw_plugin.get("fields") or {}
    if not isinstance(raw_objects, dict) or not isinstance(raw_fields, dict):
        problems.append(SpecProblem(file, "plugin", "objects and fields must be mappings"))
    else:
        for obj_name, raw in raw_objects.items():
            obj = _validated(PluginObject, raw, file, f"plugin.objects.{obj_name}", problems)
            if obj is not None:
                if not str(obj_name).endswith("__c"):
                    problems.append(SpecProblem(file, f"plugin.objects.{obj_name}", "a custom object ends in __c"))
                plugin_objects[str(obj_name)] = obj
        for obj_name, fields in raw_fields.items():
            if not isinstance(fields, dict):
                problems.append(SpecProblem(file, f"plugin.fields.{obj_name}", "must map field names to fields"))
                continue
            for field_name, raw in fields.items():
                where = f"plugin.fields.{obj_name}.{field_name}"
                pf = _validated(PluginField, raw, file, where, problems)
                if pf is not None:
                    if not str(field_name).endswith("__c"):
                        problems.append(SpecProblem(file, where, "a custom field ends in __c"))
                    plugin_fields.setdefault(str(obj_name), {})[str(field_name)] = pf
    for obj_name in health.HEALTH_OBJECTS:
        if obj_name in plugin_objects or obj_name in plugin_fields:
            problems.append(SpecProblem(file, f"plugin.objects.{obj_name}", "every profile has it (mappings.health)"))
    plugin_objects.update(health.OBJECTS)
    plugin_fields.update(health.fields(header.key_field))
    order: tuple[str, ...] = ()
    if not problems:
        deps = {
            name: [f.lookup.step for f in s.fields.values() if f.lookup is not None and f.lookup.step != name]
            + list(s.after)
            for name, s in steps.items()
        }
        try:
            order = tuple(dependency_order(deps, list(steps)))
        except CycleError as exc:
            problems.append(SpecProblem(file, "steps", str(exc)))
    if problems:
        raise ProfileError(problems)
    return Profile(
        name=header.profile,
        file=file,
        header=header,
        steps=steps,
        plugin=Plugin(objects=plugin_objects, fields=plugin_fields),
        order=order,
    )


def profile_path(name: str) -> Path:
    return Path(str(resources.files("mappings").joinpath(f"{name}.yaml")))


def load_profile_file(path: Path) -> Profile:
    text = path.read_text("utf-8")
    try:
        # libyaml's parser when present (a profile loads in a tenth of the time); the same safe constructor
        data = yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        data = _safe_load_or_explain(text, path)
    return load_profile_data(data, str(path))


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _safe_load_or_explain(text: str, path: Path) -> Any:
    """The pure-Python loader again, for its error message (line and column), the one profiles always gave."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(file)"
        raise ProfileError([SpecProblem(str(path), where, f"not valid YAML: {exc}")]) from None


@cache
def load_profile(name: str) -> Profile:
    """One of the packaged profiles by name (npsp_pmm, nonprofit_cloud, salesforce_core), loaded once."""
    if name not in PROFILE_NAMES:
        raise ProfileError([SpecProblem(name, "(profile)", f"unknown profile; known: {', '.join(PROFILE_NAMES)}")])
    return load_profile_file(profile_path(name))
