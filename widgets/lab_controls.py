"""The ``Lab``'s controls: its option forms, presets and warnings, and the parameters Run will start.

A mixin of ``Lab`` (lab.py), which makes the controls in its constructor (the dropdowns, the forms'
boxes, the advanced JSON boxes) and runs the search; this part only reads and fills them. Kept apart
so that each file reads in one sitting: here *what* will run, in lab.py *how* it runs and is drawn.
"""
from __future__ import annotations

import html
import json

from nasbench_lab.config import fields
from nasbench_lab.estimators import EstimatorError
from nasbench_lab.objectives import parse_objective
from nasbench_lab.strategies import StrategyError

from .forms import OptionsForm, estimator_form_spec, strategy_config
from .lab_status import ACTIVE
from .presets import INVENTED, advice, presets


class LabControls:
    """Forms, presets, warnings and parameters of a ``Lab`` (see the module text)."""

    # ------------------------------------------------------------------ forms, presets, warnings
    def _preset_label(self, name: str) -> str:
        """The preset called ``name``, or the first whose label starts with it ("classroom")."""
        labels = list(self._presets)
        found = [label for label in labels if label == name] or [label for label in labels if label.startswith(name)]
        if not found:
            raise ValueError(f"no preset {name!r} for {self.strategy.value}; choose one of: "
                             + ", ".join(repr(label) for label in labels))
        return found[0]

    @property
    def strategy_form(self) -> OptionsForm:
        """The options form of the selected strategy (one per strategy, kept while switching)."""
        name = self.strategy.value
        if name not in self._strategy_forms:
            cls = strategy_config(name)
            self._strategy_forms[name] = OptionsForm(fields(cls) if cls else [], f"strategy {name!r}", cls,
                                                     title=f"{name} options", on_change=self._update,
                                                     error=StrategyError)
        return self._strategy_forms[name]

    @property
    def estimator_form(self) -> OptionsForm:
        """The options form of the selected estimator (for train/lowfi: the training fidelity)."""
        name = self.estimator.value
        if name not in self._estimator_forms:
            cls, specs, nest = estimator_form_spec(name)
            title = (f"training fidelity ({name} estimator)" if nest == "fidelity" else f"{name} estimator options")
            if name == "synthetic":
                title += f": {INVENTED}"
            form = OptionsForm(specs, "fidelity" if nest == "fidelity" else f"estimator {name!r}", cls,
                               title=title, on_change=self._update, error=EstimatorError)
            form.nest = nest
            self._estimator_forms[name] = form
        return self._estimator_forms[name]

    def _show_forms(self) -> None:
        self.strategy_box.children = [self.strategy_form.widget]
        self.estimator_box.children = [self.estimator_form.widget]
        self._update()

    def _on_strategy(self, _change) -> None:
        self._set_tabs(self._tabs_for_strategy())
        self._fill_presets()
        self._show_forms()

    @staticmethod
    def _fill(form: OptionsForm, options: dict | None, advanced) -> None:
        rest = form.set_values(options)
        advanced.value = json.dumps(rest) if rest else "{}"

    def _fill_estimator(self, options: dict | None) -> None:
        form, options = self.estimator_form, dict(options or {})
        if form.nest == "fidelity" and isinstance(options.get("fidelity"), dict):
            rest = form.set_values(options.pop("fidelity"))
            if rest:
                options["fidelity"] = rest
        elif form.nest is None:
            options = form.set_values(options)
        self.estimator_options.value = json.dumps(options) if options else "{}"

    def _fill_presets(self) -> None:
        self._presets = presets(self.strategy.value)
        self._applying = True
        try:
            self.preset.options = ["(custom)", *self._presets]
            self.preset.value = "(custom)"
        finally:
            self._applying = False

    def _on_preset(self, change) -> None:
        if self._applying or change["new"] not in getattr(self, "_presets", {}):
            return
        self.apply_preset(change["new"])

    def apply_preset(self, label: str) -> None:
        """Set every control from the preset ``label`` of the selected strategy (see ``presets.py``)."""
        p = self._presets[label]
        self._applying = True
        try:
            if "space" in p and p["space"] in self.space.options:
                self.space.value = p["space"]
            if p.get("estimator") in [v for _, v in self.estimator.options]:
                self.estimator.value = p["estimator"]
            if p.get("dataset") in [v for _, v in self.dataset.options]:
                self.dataset.value = p["dataset"]
            self.budget.value = p["budget"]
            self.pace.value = p.get("pace", 0.0)
            self.strategy_form.reset()
            self._fill(self.strategy_form, p.get("strategy_options"), self.strategy_options)
            self.estimator_form.reset()
            self._fill_estimator(p.get("estimator_options"))
        finally:
            self._applying = False
        self._update(keep_preset=True)

    def _advanced(self, text, what) -> dict:
        try:
            value = json.loads(text.value.strip() or "{}")       # an emptied box (even " ") means: none
        except json.JSONDecodeError as exc:
            raise ValueError(f"advanced {what} options must be a JSON object: {exc}") from None
        if not isinstance(value, dict):
            raise ValueError(f"advanced {what} options must be a JSON object, got {text.value!r}")
        return value

    def problems(self) -> list[str]:
        """What keeps Run disabled: the forms' messages and unreadable advanced JSON."""
        out = [m for f in (self.strategy_form, self.estimator_form) for m in f.errors.values()]
        for text, what in ((self.strategy_options, "strategy"), (self.estimator_options, "estimator")):
            try:
                self._advanced(text, what)
            except ValueError as exc:
                out.append(str(exc))
        if self.objective.value.strip():
            try:
                parse_objective(self.objective.value.strip())
            except ValueError as exc:
                out.append(str(exc))
        return out

    def warnings(self) -> list[str]:
        """Settings that defeat the strategy, in words (shown above Run)."""
        try:
            opts = self._params()["strategy_options"] or {}
        except ValueError:
            opts = {}
        return advice(self.strategy.value, self.estimator.value, int(self.budget.value), opts, self.dataset.value)

    def _update(self, keep_preset: bool = False) -> None:
        """Re-check after any change: warnings, Run enabled only when every value is good."""
        if self._applying or not hasattr(self, "advice") or "_strategy_forms" not in vars(self):
            return
        if self.strategy.value not in self._strategy_forms or self.estimator.value not in self._estimator_forms:
            return
        if self.preset.value != "(custom)" and not keep_preset:
            self._applying = True
            try:
                self.preset.value = "(custom)"       # an edit after a preset makes the settings custom
            finally:
                self._applying = False
        notes = self.warnings()
        self.advice.value = "".join(f"<div style='color:#8a6d00'>&#9888; {html.escape(n)}</div>" for n in notes)
        if self.state not in ACTIVE:                # while a run is on, Run stays off (its end re-checks)
            self.run_button.disabled = bool(self.problems())
            self.run_button.tooltip = "; ".join(self.problems()) or "start the search"

    # ------------------------------------------------------------------ what Run will start
    def _params(self) -> dict:
        bad = [m for f in (self.strategy_form, self.estimator_form) for m in f.errors.values()]
        if bad:
            raise ValueError(bad[0])
        strategy_opts = {**self.strategy_form.values(), **self._advanced(self.strategy_options, "strategy")}
        estimator_opts = self._advanced(self.estimator_options, "estimator")
        form = self.estimator_form
        if form.nest == "fidelity":
            fid = form.values()
            extra = estimator_opts.pop("fidelity", None)
            if isinstance(extra, dict):
                fid.update(extra)
            elif extra is not None:
                estimator_opts["fidelity"] = extra            # not a dict: the library refuses it by name
            if fid and "fidelity" not in estimator_opts:
                estimator_opts["fidelity"] = fid
        else:
            estimator_opts = {**form.values(), **estimator_opts}
        return {"space": self.space.value, "strategy": self.strategy.value, "estimator": self.estimator.value,
                "dataset": self.dataset.value, "budget": int(self.budget.value), "device": self.device.value,
                "seed": int(self.seed.value), "store": self.store.value.strip() or None,
                "strategy_options": strategy_opts or None, "estimator_options": estimator_opts or None,
                "objective": self.objective.value.strip() or None}
