"""An EventBridge Scheduler schedule with a dead-letter queue of its own: how the platform starts what runs
on a clock (the pipeline's state machine, the privacy worker's retention).

:class:`DeadLetteredSchedule` is the schedule ``<name>`` in the stage's business time zone, encrypted with the
data key; the scheduler's own role (assumed by the scheduler for this account only), which may do what the
target needs and dead-letter to the queue (SQS encrypts with the data key on the sender's behalf); and the
queue ``<name>-dead-letters`` of the invocations that still failed after 10 retries within 4 hours, for the
owner to alarm on. The owners subclass it, so the queue, the role and the schedule keep their construct ids
(``DeadLetters``, ``Role``, ``Schedule``).
"""

from __future__ import annotations

from collections.abc import Callable

from aws_cdk import Aws, Duration, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.components.dead_letters import dead_letter_queue
from infra.components.encryption import use_key_through

#: the scheduler's retries of one invocation, and how long it keeps trying, before it dead-letters it
RETRY_ATTEMPTS = 10
MAX_EVENT_AGE = Duration.hours(4)

#: builds the schedule's target from the scheduler's role, input, dead-letter queue and retry policy (e.g. a
#: ``functools.partial`` of ``StepFunctionsStartExecution`` on its state machine)
TargetFactory = Callable[..., scheduler.IScheduleTarget]


class DeadLetteredSchedule(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        expression: str,
        enabled: bool,
        time_zone: str,
        key: kms.IKey,
        target: TargetFactory,
        input: scheduler.ScheduleTargetInput,
        description: str,
        role_description: str,
        why_dead_letters_end_here: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters: sqs.Queue = dead_letter_queue(
            self, "DeadLetters", key=key, why=why_dead_letters_end_here, queue_name=f"{name}-dead-letters"
        )
        self.role = iam.Role(
            self,
            "Role",
            description=role_description,
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
        )
        self.role.add_to_principal_policy(
            use_key_through("sqs", key, sid="EncryptDeadLettersThroughSqs", encrypt=True)
        )
        self.target = target(
            role=self.role,
            input=input,
            dead_letter_queue=self.dead_letters,
            retry_attempts=RETRY_ATTEMPTS,
            max_event_age=MAX_EVENT_AGE,
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule_name=name,
            description=description,
            schedule=scheduler.ScheduleExpression.expression(expression, TimeZone.of(time_zone)),
            target=self.target,
            enabled=enabled,
            key=key,
        )
