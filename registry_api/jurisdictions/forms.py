"""Request bodies of the division tree: a new chemical park."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

from registry_api.forms import NOT_BLANK, TRIMMED, Form


class ParkForm(Form):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "太原化工园区"}]})

    name: Annotated[str, Field(min_length=2, max_length=100, pattern=NOT_BLANK), TRIMMED]
