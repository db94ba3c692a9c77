"""The conformance corpus in numbers, as docs/conformance.md ("The corpus in numbers") shows it.

    python3 tests/conformance/corpus_summary.py           prints the section's generated block
    python3 tests/conformance/corpus_summary.py --check   docs/conformance.md's block must equal it (ctest)

Per family: cases, compared steps (each request, and each followed operation's end), the
api-versions the requests carry, and the kinds of sources cited; then the cases marked
emulator-chosen, with the reason each gives. Counted from the case files, so the docs cannot
drift from the corpus.
"""
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DOC = os.path.join(HERE, "..", "..", "docs", "conformance.md")
BEGIN, END = "<!-- corpus-summary:begin -->", "<!-- corpus-summary:end -->"

SOURCE_KINDS = [
    (r"^Azure/azure-rest-api-specs$", "REST specs"),
    (r"^Azure/azure-cli(-extensions)?$", "az recordings"),
    (r"^Azure/azure-sdk-for-", "SDK recordings and sources"),
    (r".", "other public sources"),
]


def source_kind(source):
    repo = source.get("repo", "")
    if repo == "Azure/azure-cli" and "/recordings/" not in source.get("path", ""):
        return "az sources"
    return next(kind for pattern, kind in SOURCE_KINDS if re.search(pattern, repo))


def summary():
    rows, chosen = [], []
    totals = [0, 0]
    for folder in sorted(glob.glob(os.path.join(HERE, "*", ""))):
        family = os.path.basename(os.path.dirname(folder))
        if family.startswith(("_", ".")):
            continue
        cases = steps = 0
        versions, kinds = set(), set()
        for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
            case = json.load(open(path, encoding="utf-8"))
            cases += 1
            for step in case["steps"]:
                if "request" not in step:
                    continue
                steps += 1 + ("follow" in step)
                versions.update(re.findall(r"api-version=([0-9a-z.\-]+)", step["request"]["url"]))
            kinds.update(source_kind(s) for s in case.get("sources", []))
            if case.get("emulator_chosen"):
                chosen.append(f"- `{family}/{os.path.basename(path)[:-5]}`: {case['emulator_chosen']}")
        totals[0] += cases
        totals[1] += steps
        rows.append(f"| {family} | {cases} | {steps} | {', '.join(sorted(versions)) or 'none'} | "
                    f"{', '.join(sorted(kinds))} |")
    lines = ["| family | cases | compared steps | api-versions | sources |", "|---|---|---|---|---|", *rows,
             f"| all | {totals[0]} | {totals[1]} | | |", "",
             f"Emulator-chosen ({len(chosen)} cases: Azure's answer there is neither documented nor recorded, "
             "so the case pins the emulator's own choice):", "", *chosen]
    return "\n".join(lines) + "\n"


def main():
    text = summary()
    if "--check" not in sys.argv:
        sys.stdout.write(text)
        return 0
    doc = open(DOC, encoding="utf-8").read()
    m = re.search(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END), doc, re.S)
    if not m:
        print(f"docs/conformance.md has no {BEGIN} ... {END} block", file=sys.stderr)
        return 1
    if m.group(1) != text:
        print("docs/conformance.md's corpus summary is out of date; replace the block with the output of "
              "python3 tests/conformance/corpus_summary.py", file=sys.stderr)
        return 1
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
