"""Pipeline steps, each written once (SQL + Arrow batch functions) and run on any engine."""


class UnknownStepError(ValueError):
    """A step name that the pipeline does not have."""
