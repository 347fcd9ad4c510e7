"""Benchmark the public storefront: every page's latency (p50, p99) at a real size.

The population is the scale issue's (`bench/scale.py`: `--scale` × 100,000 sellers in
2,000 villages, 300,000 listings; cached under `var/scale-cache/`, copied and migrated).
Each page is requested `--requests` times through the WSGI app in this process (no
network, no browser) after three warm-up requests (`bench.desk.measure`). Not a timed
test: a figure for docs/BENCHMARKS.md.

    .venv/bin/python bench/storefront.py --scale 1.0 --requests 200
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.desk import measure  # noqa: E402
from bench.scale import cached_population, migrate_copy, sizes, village_name  # noqa: E402
from bot.services import storefront  # noqa: E402
from bot.storage import open_database  # noqa: E402
from bot.web.app import create_app  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="of bench/scale.py's population")
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "scale-cache")
    parser.add_argument("--requests", type=int, default=200, help="per page")
    args = parser.parse_args()
    size = sizes(args.scale)
    workdir = Path(tempfile.mkdtemp(prefix="store-bench-"))
    try:
        path = workdir / "jembatan.db"
        shutil.copyfile(cached_population(args.cache, args.scale), path)
        migrate_copy(path)
        db = open_database(path)
        print(f"population: scale {args.scale:g} ({size['sellers']:,} sellers, "
              f"{size['listings']:,} listings)")
        app = create_app({"DATABASE_PATH": str(path), "REDIS_URL": None,
                          "PUBLIC_BASE_URL": "https://jembatan.example.org",
                          "TWILIO_WHATSAPP_FROM": "+6281100000000"})
        client = app.test_client()
        code = db.execute("SELECT code FROM listings WHERE status = 'active' AND quantity_milli > 0 "
                          "ORDER BY id LIMIT 1 OFFSET ?", [size["listings"] // 3]).fetchone()[0]
        seller = db.execute("SELECT village, province FROM contacts WHERE village = ? LIMIT 1",
                            [village_name(7)]).fetchone()
        province, village = storefront.village_path(seller[1], seller[0])
        pages = ["/", "/?lang=en", "/produk/cabai", "/produk/cabe", f"/l/{code}",
                 f"/desa/{province}/{village}", "/cari?q=cabai", "/cari?q=shallot",
                 f"/cari?q={village_name(7).replace(' ', '%20')}", "/robots.txt"]
        print(f"{'page':40} {'p50 ms':>8} {'p99 ms':>8}")
        for page in pages:
            p50, p99 = measure(client, page, args.requests)
            print(f"{page:40} {p50:8.1f} {p99:8.1f}")
        for page, label in (("/sitemap.xml", "/sitemap.xml (the index)"),
                            ("/sitemap/pages-1.xml", "/sitemap/pages-1.xml"),
                            ("/sitemap/listings-1.xml", "/sitemap/listings-1.xml (50,000)")):
            p50, p99 = measure(client, page, max(args.requests // 20, 3))
            print(f"{label:40} {p50:8.1f} {p99:8.1f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
