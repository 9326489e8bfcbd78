"""Activation (SPEC 8): a run's segment membership changes delivered to email, SMS, notification, event and
ad-audience destinations, honouring consent and the suppression list, idempotent and retried.

- :mod:`cdp.activation.models`: what moves (a membership change with the contact fields a destination
  needs) and what comes back (an outcome per profile).
- :mod:`cdp.activation.ports`: the :class:`~cdp.activation.ports.Destination` port, the delivery ledger and
  the dead-letter queue; adapters live in :mod:`cdp.adapters`.
- :mod:`cdp.activation.deliver`: the deliverer (pure Python over the ports): consent, suppression,
  idempotency, batching, pacing, retries, dead letters, the report.
- :mod:`cdp.activation.config`: ``segments/destinations.yaml``, typed and validated.
- :mod:`cdp.activation.service`: :func:`~cdp.activation.service.deliver_run`, what ``cdp export``, the
  pipeline's ``export`` step and the export Lambda call.

docs/activation.md is the user's guide.
"""
