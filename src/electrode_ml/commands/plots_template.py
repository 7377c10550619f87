"""`make plots`: DVC's plots page with its chart library inside, so that it opens without the internet.

`dvc plots show` writes an HTML page whose scripts (Vega, Vega-Lite, vega-embed) come from a CDN:
blank on a machine without the internet. DVC fills a page template of our own instead when given
`--html-template`; this writes one that carries the three libraries inline, bundled by
vl-convert (a pinned package, so the page is the same on every machine). DVC replaces
`{plot_divs}` with the charts; the template has no `{scripts}`, where DVC would put its CDN tags.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from electrode_ml.files import atomic_path

PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>electrode-ml: DVC plots</title>
<script type="text/javascript">
{bundle}
</script>
</head>
<body>
{{plot_divs}}
</body>
</html>
"""


def offline_template() -> str:
    import vl_convert

    # The default snippet puts vegaEmbed, vegaLite and vega on `window`, as the CDN scripts do.
    return PAGE.format(bundle=vl_convert.javascript_bundle())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml plots-template", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="where to write the template (make plots: .dvc/tmp/)")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out) as temporary:
        temporary.write_text(offline_template(), encoding="utf-8")
    print(f"plots-template: {args.out} (for dvc plots show/diff --html-template {args.out})")
