"""Request and response models of the Erlang C calculator (docs/metrics.md, section 5)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from callcenter.api.schemas.common import StrictModel
from callcenter.crm.erlang import Staffing, StaffingInterval

MAX_INTERVALS = 672  # a week of 15-minute intervals


class StaffingIntervalIn(StrictModel):
    label: Annotated[str, Field(max_length=40)] | None = Field(
        default=None, description="Your name for the interval, echoed back.", examples=["09:00"]
    )
    volume: float = Field(ge=0, le=1_000_000, description="Calls forecast in the interval.")
    aht_seconds: float = Field(gt=0, le=86_400, description="Average handle time, seconds.")
    target_service_level: float = Field(
        default=0.8, gt=0, lt=1, description="Share to answer within the target time, 0..1."
    )
    target_seconds: float = Field(default=10, ge=0, le=3_600)
    interval_minutes: int = Field(default=30, ge=1, le=1_440)
    max_occupancy: float | None = Field(
        default=None, gt=0, le=1, description="Plan no agent busier than this share, 0..1."
    )

    def interval(self) -> StaffingInterval:
        return StaffingInterval(
            volume=self.volume,
            aht_seconds=self.aht_seconds,
            target_service_level=self.target_service_level,
            target_seconds=self.target_seconds,
            interval_minutes=self.interval_minutes,
            max_occupancy=self.max_occupancy,
        )


class StaffingRequest(StrictModel):
    intervals: list[StaffingIntervalIn] = Field(min_length=1, max_length=MAX_INTERVALS)


class StaffingOut(StaffingIntervalIn):
    traffic_erlangs: float
    agents: int
    probability_of_waiting: float
    service_level: float
    asa_seconds: float
    occupancy: float | None

    @classmethod
    def of(cls, asked: StaffingIntervalIn, result: Staffing) -> StaffingOut:
        return cls(
            **asked.model_dump(),
            traffic_erlangs=result.traffic,
            agents=result.agents,
            probability_of_waiting=result.probability_of_waiting,
            service_level=result.service_level,
            asa_seconds=result.asa_seconds,
            occupancy=result.occupancy,
        )


class StaffingReportOut(StrictModel):
    intervals: list[StaffingOut]
    total_agent_hours: float  # sum of agents x interval length: the hours of work to roster
