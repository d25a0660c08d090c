"""Importers that turn public trade data sets into chokepoint tables."""

from chokepoint.importers.baci import (
    BaciOptions,
    BaciSummary,
    baci_supplier_shares,
    write_baci_supplier_shares,
)

__all__ = ["BaciOptions", "BaciSummary", "baci_supplier_shares", "write_baci_supplier_shares"]
