"""Forms generated from the typed option dataclasses: one control per field, its docstring as tooltip.

The Lab used to take strategy and estimator options as JSON text; a student then met a parser traceback
instead of the option's meaning. Here every field of a strategy's or an estimator's config dataclass (its
``config_class``, read through ``nasbench_lab.config.fields``) becomes a control picked by its kind: a Checkbox for bool, IntText for int, FloatText for float, a
Dropdown for a ``Literal[...]`` field (its values, nothing to mistype), Text for other str (and for
optional numbers, where empty means None), a small JSON Text for tuple/dict. Each change
is checked at once with the same code the search uses (``config.check_value`` for the type and the
range, then ``config.build`` for the class's rules over several fields), and the message lands next to
the field it names.

``OptionsForm.values()`` returns only the options that differ from their defaults, so an untouched
form runs exactly what the library's defaults say (and stores no noise in the run's options).
"""
from __future__ import annotations

import dataclasses
import html
import json
import re

from nasbench_lab.config import FieldSpec, build, check_value, fields
from nasbench_lab.estimators import estimator_class
from nasbench_lab.strategies import strategy_class


def strategy_config(name: str):
    """The options dataclass of strategy ``name`` (its ``config_class``), or None."""
    try:
        return strategy_class(name).config_class
    except (ValueError, ImportError):
        return None


def estimator_form_spec(name: str):
    """(config class or None, field specs, nest key) for estimator ``name``: the fields of its
    ``config_class`` with the defaults it has (``lowfi``: LOW_FIDELITY's), and its ``config_key``
    (``train`` and ``lowfi`` take their fidelity as one ``fidelity`` dict; the others take keywords)."""
    try:
        cls = estimator_class(name)
    except (ValueError, ImportError):
        return None, [], None
    if cls.config_class is None:
        return None, [], None
    defaults = cls.defaults()
    specs = [dataclasses.replace(s, default=getattr(defaults, s.name)) for s in fields(cls.config_class)]
    return cls.config_class, specs, cls.config_key


def _text(value) -> str:
    if value is None or value is dataclasses.MISSING:
        return ""
    if isinstance(value, (tuple, list, dict)):
        return json.dumps(list(value) if isinstance(value, tuple) else value)
    return str(value)


def _free_text(s: FieldSpec) -> bool:
    """Whether a field's control is free Text (optional numbers, str, tuple, dict): anything typed fits
    it and ``_parse`` checks it; the other controls (Checkbox, Dropdown, IntText, FloatText) hold one type.
    The same rule as ``OptionsForm._control``'s last case."""
    return s.kind != "bool" and not s.choices and not (s.kind in ("int", "float") and not s.optional)


def _same(a, b) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return list(a) == list(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


class OptionsForm:
    """Controls for a list of FieldSpecs; ``values()``, ``set_values()``, ``errors``, ``valid``.

    owner names the configured thing in messages ("strategy 'evolution'", "fidelity"). cls, when given,
    is built after the per-field checks so the class's rules over several fields (``check()``) answer too. on_change is called after every re-check.
    """

    def __init__(self, specs: list[FieldSpec], owner: str, cls=None, title: str = "", on_change=None,
                 error: type = ValueError, base: dict | None = None):
        import ipywidgets as w          # heavy UI package, optional: only when controls are built
        self.specs = {s.name: s for s in specs}
        self.owner, self.cls, self.title, self.error_type = owner, cls, title, error
        self.base = dict(base or {})          # options not in the form that still apply (checked with them)
        self.on_change = on_change
        self.errors: dict[str, str] = {}
        self.refused: dict[str, str] = {}     # values given in code that the field's control cannot hold
        self.controls, self.messages = {}, {}
        style = {"description_width": "130px"}
        rows = []
        for s in specs:
            ctl = self._control(w, s, style)
            ctl.tooltip = s.doc or s.name
            msg = w.HTML(value="", layout=w.Layout(width="auto", max_width="300px"))
            self.controls[s.name], self.messages[s.name] = ctl, msg
            ctl.observe(lambda _c, name=s.name: self._edited(name), names="value")
            rows.append(w.HBox([ctl, msg], layout=w.Layout(align_items="center")))
        self.general = w.HTML(value="")
        head = [w.HTML(value=f"<b>{html.escape(title)}</b>")] if title else []
        if not specs:
            head.append(w.HTML(value="<i>no options</i>"))
        self.widget = w.VBox([*head, *rows, self.general])
        self.validate()

    @staticmethod
    def _control(w, s: FieldSpec, style):
        lay = w.Layout(width="290px")
        default = None if s.default is dataclasses.MISSING else s.default
        if s.kind == "bool" and not s.optional:
            return w.Checkbox(value=bool(default), description=s.name, indent=False, style=style, layout=lay)
        if s.kind == "bool":
            return w.Dropdown(options=[("auto (None)", "none"), ("true", "true"), ("false", "false")],
                              value={None: "none", True: "true", False: "false"}[default], description=s.name,
                              style=style, layout=lay)
        if s.choices:                              # a Literal field: its values, nothing else to type
            options = ([("(none)", "")] if s.optional else []) + [(c, c) for c in s.choices]
            return w.Dropdown(options=options, value="" if default is None else default, description=s.name,
                              style=style, layout=lay)
        if s.kind == "int" and not s.optional:
            return w.IntText(value=int(default or 0), description=s.name, style=style, layout=lay)
        if s.kind == "float" and not s.optional:
            return w.FloatText(value=float(default or 0.0), description=s.name, style=style, layout=lay)
        placeholder = "empty: None" if s.optional else ("JSON" if s.kind in ("tuple", "dict") else "")
        return w.Text(value=_text(default), placeholder=placeholder, description=s.name, style=style,
                      layout=lay, continuous_update=False)

    # ------------------------------------------------------------------ reading and writing values
    def _parse(self, s: FieldSpec):
        """The control's value, parsed and checked against its field (ValueError naming the option)."""
        v = self.controls[s.name].value
        if s.kind == "bool" and s.optional:
            return {"none": None, "true": True, "false": False}[v]
        if isinstance(v, str):
            text = v.strip()
            if s.kind == "str":
                v = None if s.optional and text == "" else v
            elif text == "" or text.lower() in ("none", "null"):
                v = None                          # check_value refuses it where None is not allowed
            elif s.kind in ("tuple", "dict"):
                try:
                    v = json.loads(text)
                except json.JSONDecodeError:
                    v = text                      # check_value answers "must be a JSON object, got '{'"
            elif s.kind == "int":
                try:
                    v = int(text)
                except ValueError:
                    v = text
            elif s.kind == "float":
                try:
                    v = float(text)
                except ValueError:
                    v = text
        return check_value(s, v, self.owner)

    def values(self, all_fields: bool = False) -> dict:
        """The options that differ from their defaults (all of them with ``all_fields``); raises the first
        field's message when a value is bad."""
        out = {}
        for s in self.specs.values():
            v = self._parse(s)
            if all_fields or not _same(v, s.default):
                out[s.name] = list(v) if isinstance(v, tuple) else v
        return out

    def set_values(self, options: dict | None) -> dict:
        """Fill the controls from ``options``; returns the entries that are not fields of this form.

        A value of the wrong type for its field (``population=10.7``, ``aging="no"``) is refused: the
        control keeps its value and the field shows the message ``search()`` would give, so Run stays
        disabled until it is edited. Why check first: an IntText truncates 10.7 to 10, a Checkbox takes
        "no" as True, and the run would then silently differ from what was asked."""
        rest = {}
        for k, v in (options or {}).items():
            s = self.specs.get(k)
            if s is None:
                rest[k] = v
                continue
            self.refused.pop(k, None)
            ctl = self.controls[k]
            if _free_text(s):
                ctl.value = _text(v)                 # free text: _parse reads it back and says what is wrong
                continue
            try:
                # the type only (and a Literal's values): a number out of range fits its control, and
                # validate() then names the range next to the field as for a typed value
                v = check_value(dataclasses.replace(s, lo=None, hi=None, gt=None, lt=None), v, self.owner)
            except ValueError as exc:
                self.refused[k] = str(exc)
                continue
            if s.kind == "bool" and s.optional:
                ctl.value = {None: "none", True: "true", False: "false"}[v]
            elif s.choices:
                ctl.value = _text(v)                 # a Literal's Dropdown ("" is its "(none)")
            else:
                ctl.value = v                        # Checkbox, IntText, FloatText: the checked value
        self.validate()
        return rest

    def _edited(self, name: str) -> None:
        """A control changed: a refused value no longer stands there, re-check every field."""
        self.refused.pop(name, None)
        self.validate()

    def reset(self) -> None:
        self.set_values({s.name: (None if s.default is dataclasses.MISSING else s.default)
                         for s in self.specs.values()})

    # ------------------------------------------------------------------ checking
    def validate(self) -> bool:
        """Re-check every field; show each message next to its field; True when all are good."""
        errors, general = dict(self.refused), ""
        for s in self.specs.values():
            if s.name in errors:
                continue
            try:
                self._parse(s)
            except ValueError as exc:
                errors[s.name] = str(exc)
        if not errors and self.cls is not None:
            try:
                build(self.cls, {**self.base, **self.values()}, self.owner, self.error_type)
            except ValueError as exc:
                msg = str(exc)
                name = self._blame(msg)
                if name is None:
                    general = msg
                else:
                    errors[name] = msg
        self.errors = errors
        for name, box in self.messages.items():
            box.value = (f"<span style='color:#a00'>&#9888; {html.escape(errors[name], quote=False)}</span>"
                         if name in errors else "")
        self.general.value = f"<span style='color:#a00'>&#9888; {html.escape(general, quote=False)}</span>" if general else ""
        if general:
            self.errors["*"] = general
        if self.on_change is not None:
            self.on_change()
        return not self.errors

    def _blame(self, message: str):
        """The field a range message is about: a quoted name first, else the first name mentioned."""
        quoted = re.findall(r"'([A-Za-z_][A-Za-z0-9_]*)'", message)
        for q in quoted:
            if q in self.specs:
                return q
        hits = [(m.start(), n) for n in self.specs for m in [re.search(rf"\b{re.escape(n)}\b", message)] if m]
        return min(hits)[1] if hits else None

    @property
    def valid(self) -> bool:
        return not self.errors


__all__ = ["OptionsForm", "estimator_form_spec", "strategy_config"]
