"""The table `make bench` prints, in Markdown so it can be pasted into docs/PERFORMANCE.md."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    stage: str
    records: int
    seconds: float
    megabytes: float | None = None
    cpu: dict[str, float] | None = None

    @property
    def rate(self) -> float:
        return self.records / self.seconds


def _cpu(cpu: dict[str, float] | None) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in cpu.items() if v >= 0.05) if cpu else ""


def table(lines: list[Line]) -> str:
    out = ["| stage | records | seconds | records/s | MB/s | CPU seconds |",
           "| --- | ---: | ---: | ---: | ---: | --- |"]
    for x in lines:
        mb = f"{x.megabytes / x.seconds:.1f}" if x.megabytes is not None else ""
        out.append(f"| {x.stage} | {x.records:,} | {x.seconds:.2f} | {x.rate:,.0f} | {mb} | {_cpu(x.cpu)} |")
    return "\n".join(out)
