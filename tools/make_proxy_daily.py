"""Rebuild configs/data/*.csv (continuous daily proxies) from the LEAN sample files in shared/data.

    python tools/make_proxy_daily.py /path/to/shared/data configs/data

ES proxy: SPY daily (deci-cents) × 10 / 10,000 → index points, on the 0.25 ES tick grid, stamped at
21:00 UTC on the New York session date (the bar's close; 20:00 UTC in summer is not distinguished).
6E proxy: EUR/USD OANDA daily bid/ask bars → mid OHLC on the 0.00005 tick grid, stamped at the end of
the UTC day (the bar's close). The FX source has no volume; volume is set to 1,000,000 so a simulated
L1 book built from the bar never caps a fill.
"""

from __future__ import annotations

import sys
import zipfile
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path


def _tick(value: Decimal, tick: Decimal) -> Decimal:
    return (value / tick).quantize(Decimal(1), rounding=ROUND_HALF_EVEN) * tick


def _rows(zip_path: Path) -> list[list[str]]:
    with zipfile.ZipFile(zip_path) as zf:
        text = zf.read(zf.namelist()[0]).decode("ascii")
    return [line.split(",") for line in text.strip().splitlines()]


def es_proxy(shared: Path) -> list[str]:
    out = ["timestamp,open,high,low,close,volume"]
    tick = Decimal("0.25")
    for row in _rows(shared / "spy_daily" / "spy.zip"):
        day = row[0][:8]
        o, h, lo, c = (_tick(Decimal(v) / 1000, tick) for v in row[1:5])
        out.append(
            f"{day[:4]}-{day[4:6]}-{day[6:]}T21:00:00Z,{o},{max(h, o, c)},{min(lo, o, c)},{c},{row[5]}"
        )
    return out


def sixe_proxy(shared: Path) -> list[str]:
    from datetime import date, timedelta

    out = ["timestamp,open,high,low,close,volume"]
    tick = Decimal("0.00005")
    for row in _rows(shared / "eurusd_oanda" / "daily" / "eurusd.zip"):
        d = row[0][:8]
        close_day = date(int(d[:4]), int(d[4:6]), int(d[6:])) + timedelta(days=1)
        bid = [Decimal(v) for v in row[1:5]]
        ask = [Decimal(v) for v in row[6:10]]
        o, h, lo, c = (_tick((b + a) / 2, tick) for b, a in zip(bid, ask, strict=True))
        out.append(f"{close_day.isoformat()}T00:00:00Z,{o},{max(h, o, c)},{min(lo, o, c)},{c},1000000")
    return out


def main() -> None:
    shared, dest = Path(sys.argv[1]), Path(sys.argv[2])
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "ES_proxy_spy_daily.csv").write_text("\n".join(es_proxy(shared)) + "\n")
    (dest / "6E_proxy_eurusd_daily.csv").write_text("\n".join(sixe_proxy(shared)) + "\n")


if __name__ == "__main__":
    main()
