"""Chemical descriptors for the model: a choice seen as its numbers, not only its name.

Ax encodes an unordered choice as an integer (0, 1, ... in the order of the choices) and
models it with a categorical kernel, which knows only whether two choices are the same.
:class:`DescriptorFeatures` is a BoTorch input transform that puts each choice's
descriptors (scaled to the unit interval) in place of that integer, so a GP over the
descriptors can say that DBU is more like BTMG than like TEA, and what it learnt of one
base carries over to the next. Ax still optimises over the choices themselves (it
enumerates them), so a proposal is always a real choice, never a point between two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from botorch.models import SingleTaskGP
from botorch.models.transforms.input import InputTransform

from planners.base import ChoiceParameter


class DescriptorFeatures(InputTransform):
    """Replaces each encoded choice column of the model's inputs by the choice's
    descriptors.

    Args:
        tables: input column -> a ``choices x descriptors`` table, row ``i`` for the
            choice Ax encodes as ``i``, each descriptor scaled to 0..1.
        bounds: each input column's lowest and highest value: the other columns are
            scaled to 0..1 (the transform stands in for Ax's usual ``Normalize``).
    """

    def __init__(
        self,
        tables: Mapping[int, Sequence[Sequence[float]]],
        bounds: Sequence[tuple[float, float]],
    ) -> None:
        super().__init__()
        lows = torch.tensor([lo for lo, _ in bounds], dtype=torch.double)
        spans = torch.tensor([(hi - lo) or 1.0 for lo, hi in bounds], dtype=torch.double)
        self.register_buffer("lows", lows)
        self.register_buffer("spans", spans)
        self.transform_on_train = True
        self.transform_on_eval = True
        self.transform_on_fantasize = True
        self.columns = sorted(tables)
        for column in self.columns:
            self.register_buffer(f"table_{column}", torch.tensor(tables[column]))

    def transform(self, X: torch.Tensor) -> torch.Tensor:
        parts = []
        lows, spans = torch.as_tensor(self.lows).to(X), torch.as_tensor(self.spans).to(X)
        for i in range(X.shape[-1]):
            if i in self.columns:
                table = torch.as_tensor(getattr(self, f"table_{i}")).to(X)
                rows = X[..., i].round().long().clamp(0, table.shape[0] - 1)
                parts.append(table[rows])
            else:
                parts.append((X[..., i : i + 1] - lows[i]) / spans[i])
        return torch.cat(parts, dim=-1)


class DescriptorGP(SingleTaskGP):
    """BoTorch's ``SingleTaskGP``, taking the categorical columns Ax names as ordinary
    inputs: its :class:`DescriptorFeatures` turns them into descriptors."""

    @classmethod
    def construct_inputs(
        cls, training_data: Any, *, categorical_features: Any = None, **kwargs: Any
    ) -> dict[str, Any]:
        inputs: dict[str, Any] = super().construct_inputs(training_data, **kwargs)
        return inputs


def scaled_table(parameter: ChoiceParameter) -> list[list[float]]:
    """The choice's descriptors, row per choice in its order, each descriptor scaled to
    0..1 over the choices (a descriptor the same for all of them is 0)."""
    rows = [list(parameter.descriptors[c]) for c in parameter.choices]
    columns = list(zip(*rows, strict=True))
    lows = [min(c) for c in columns]
    spans = [max(c) - min(c) or 1.0 for c in columns]
    return [[(v - lo) / s for v, lo, s in zip(r, lows, spans, strict=True)] for r in rows]


def _argparse(
    input_transform_class: type[DescriptorFeatures],
    dataset: Any = None,
    search_space_digest: Any = None,
    input_transform_options: dict[str, Any] | None = None,
    **_: Any,
) -> dict[str, Any]:
    """Ax's hook for a transform's arguments: the tables by parameter name become tables
    by the column the parameter has in the model's inputs."""
    options = dict(input_transform_options or {})
    by_name: Mapping[str, Any] = options.pop("by_name")
    names = list(dataset.feature_names)
    tables = {names.index(n): t for n, t in by_name.items()}
    bounds = [(float(lo), float(hi)) for lo, hi in search_space_digest.bounds]
    return {**options, "tables": tables, "bounds": bounds}


def register_with_ax() -> None:
    """Tell Ax how to build :class:`DescriptorFeatures` and how to save it and
    :class:`DescriptorGP` in its JSON (done where a planner is made, not at import)."""
    from ax.generators.torch.botorch_modular.input_constructors.input_transforms import (
        input_transform_argparse,
    )
    from ax.storage.botorch_modular_registry import (
        CLASS_TO_REGISTRY,
        CLASS_TO_REVERSE_REGISTRY,
        register_model,
    )

    input_transform_argparse.register(DescriptorFeatures)(_argparse)
    register_model(DescriptorGP)
    # Ax has register_model but no register_input_transform: its registries take it alike
    CLASS_TO_REGISTRY[InputTransform][DescriptorFeatures] = DescriptorFeatures.__name__
    CLASS_TO_REVERSE_REGISTRY[InputTransform][DescriptorFeatures.__name__] = DescriptorFeatures


def surrogate_spec(parameters: Sequence[ChoiceParameter]) -> Any:
    """Ax's surrogate for a space whose ``parameters`` have descriptors: a GP over the
    continuous inputs and the descriptors, in place of the categorical kernel."""
    from ax.generators.torch.botorch_modular.surrogate import SurrogateSpec
    from ax.generators.torch.botorch_modular.utils import ModelConfig

    register_with_ax()
    tables = {p.name: scaled_table(p) for p in parameters}
    return SurrogateSpec(
        model_configs=[
            ModelConfig(
                botorch_model_class=DescriptorGP,
                input_transform_classes=[DescriptorFeatures],
                input_transform_options={"DescriptorFeatures": {"by_name": tables}},
            )
        ]
    )
