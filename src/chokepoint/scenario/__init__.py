"""The scenario stage: typed events on a timeline, uncertain parameters, bundled presets."""
