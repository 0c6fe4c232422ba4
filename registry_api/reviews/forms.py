"""Request bodies of reviews: registrations, info updates, deregistrations, code status."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from registry_api.enterprises.forms import EnterpriseUpdateForm
from registry_api.forms import Form, Reason, RowId


class RegistrationForm(Form):
    kind: Literal["new", "change", "renewal"]
    revision_ids: Annotated[list[RowId], Field(max_length=200)] = []
    resubmission_of: RowId | None = None


class InfoUpdateForm(Form):
    changes: EnterpriseUpdateForm
    resubmission_of: RowId | None = None


class DeregistrationForm(Form):
    reason: Reason
    resubmission_of: RowId | None = None


class CodeStatusForm(Form):
    reason: Reason
