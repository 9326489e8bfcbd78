"""Sample data: a Thai retailer's customers across four sources, with the ground truth of who is who.

:func:`generate_retailer` writes, for a number of true people and a seed (same seed → same bytes):

- ``crm_customers.csv``: the CRM master, TIS-620, Thai and English headers, Buddhist-era dates;
- ``shop_orders.jsonl``: shop order lines by e-mail/phone, THB, guest orders;
- ``survey.csv``: survey answers, UTF-8 with a BOM;
- ``app_events.jsonl``: Segment-spec app and web events (identify/track/screen/page/alias) for a caller to
  send through an SDK or the HTTP API;
- ``truth.csv``: every record of every file → its true person and what importing it must give
  (:mod:`cdp.sampledata.truth`); ``people.csv``: the true people.

The first three import with ``examples/mappings/*.yaml``. Each source carries realistic dirt at controlled
rates (duplicates, typos, swapped names, romanization variants, phone and e-mail spellings, placeholders,
households sharing a phone or address, namesakes) and a few rows broken in every way the importer must
quarantine, at least one of each even in a 50-person dataset.
"""

from __future__ import annotations

from cdp.sampledata.retailer import MAPPINGS, RetailerDataset, RetailerRates, SourceFile, generate_retailer

__all__ = ["MAPPINGS", "RetailerDataset", "RetailerRates", "SourceFile", "generate_retailer"]
