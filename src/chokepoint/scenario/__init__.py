"""The scenario stage: typed events on a timeline, uncertain parameters, bundled presets.

``Scenario.from_yaml(path)`` or ``load_scenario(name_or_path)`` read and validate a scenario;
``EVENT_TYPES`` is the registry of event classes by YAML ``type:``.
"""

from chokepoint.scenario.events import EVENT_TYPES, Event, Exemption, FlowSelector
from chokepoint.scenario.measures import (
    DemandCut,
    NewCapacity,
    Recycling,
    Stockpile,
    Substitution,
    SupplierSwitch,
)
from chokepoint.scenario.presets import (
    load_scenario,
    preset_names,
    preset_timeline,
    presets_folder,
    resolve,
    timeline,
)
from chokepoint.scenario.shocks import (
    DemandShift,
    ExportBan,
    ExportLicensing,
    ExportQuota,
    Outage,
    ValueContentRule,
)
from chokepoint.scenario.spec import METADATA, Scenario, Settings

__all__ = [
    "EVENT_TYPES",
    "METADATA",
    "DemandCut",
    "DemandShift",
    "Event",
    "Exemption",
    "ExportBan",
    "ExportLicensing",
    "ExportQuota",
    "FlowSelector",
    "NewCapacity",
    "Outage",
    "Recycling",
    "Scenario",
    "Settings",
    "Stockpile",
    "Substitution",
    "SupplierSwitch",
    "ValueContentRule",
    "load_scenario",
    "preset_names",
    "preset_timeline",
    "presets_folder",
    "resolve",
    "timeline",
]
