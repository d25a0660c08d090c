"""Importers that turn public trade data sets into chokepoint tables."""

from chokepoint.importers.baci import (
    BaciSummary,
    baci_supplier_shares,
    write_baci_supplier_shares,
)

__all__ = ["BaciSummary", "baci_supplier_shares", "write_baci_supplier_shares"]
