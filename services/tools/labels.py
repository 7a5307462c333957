"""The return-label email (run by the Celery worker): render, send, record, announce.

At least once: the task is acknowledged after it finishes, so a worker killed between sending
and recording sends the email again on redelivery; a label already recorded as sent is skipped.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import asyncpg

from services.tools.settings import MailSettings, ToolsSettings
from shared.events import ToolSideEffect, new_event
from shared.kafka.producer import BufferedProducer

CALL_EVENTS_TOPIC = "cc.call-events.v1"
RETURNS_ADDRESS = "Acme Outfitters Returns, 500 Warehouse Way, Reno, NV 89502"


@dataclass(frozen=True)
class LabelJob:
    rma_id: str
    call_id: str
    line_id: str
    tool_call_id: str


def _dsn(settings: ToolsSettings) -> str:
    return settings.postgres.url.get_secret_value().replace(
        "postgresql+asyncpg://", "postgresql://", 1
    )


async def _connect(settings: ToolsSettings) -> asyncpg.Connection:
    return await asyncpg.connect(
        _dsn(settings),
        timeout=settings.postgres.timeout_s,
        command_timeout=settings.postgres.timeout_s * 2,
        server_settings={"search_path": settings.db_schema},
    )


def render_label(row: Any, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row["email"]
    message["Subject"] = f"Your return label for order {row['order_id']} ({row['rma_id']})"
    message.set_content(
        f"Hi {row['first_name']},\n\nYour return {row['rma_id']} for order {row['order_id']} is "
        "ready. Print the attached label, pack the items, and drop the parcel at any carrier "
        "location within 14 days.\n\nAcme Outfitters\n"
    )
    label = (
        f"PREPAID RETURN LABEL\n{row['rma_id']}  order {row['order_id']}\nTO: {RETURNS_ADDRESS}\n"
    )
    message.add_attachment(label.encode(), maintype="text", subtype="plain",
                           filename=f"{row['rma_id']}.txt")  # fmt: skip
    return message


def deliver(message: EmailMessage, mail: MailSettings, rma_id: str) -> None:
    """SMTP to the configured server, or a file in ``mail_dir`` when no server is set."""
    if not mail.smtp_host:
        mail.mail_dir.mkdir(parents=True, exist_ok=True)
        (Path(mail.mail_dir) / f"{rma_id}.eml").write_bytes(bytes(message))
        return
    with smtplib.SMTP(mail.smtp_host, mail.smtp_port, timeout=mail.smtp_timeout_s) as smtp:
        smtp.send_message(message)


async def send_return_label(settings: ToolsSettings, job: LabelJob) -> str:
    """Send the label unless it was sent already; returns ``sent`` or ``skipped``.

    Raises (``OSError``, ``smtplib.SMTPException``, asyncpg errors) for the task to retry.
    """
    conn = await _connect(settings)
    try:
        row = await conn.fetchrow(
            "SELECT r.rma_id, r.order_id, r.label_status, c.email, c.first_name FROM returns r "
            "JOIN orders o USING (order_id) JOIN customers c USING (customer_id) "
            "WHERE r.rma_id = $1",
            job.rma_id,
        )
        if row is None or row["label_status"] != "pending":
            return "skipped"
        deliver(render_label(row, settings.mail.sender), settings.mail, job.rma_id)
        attempts = await conn.fetchval(
            "UPDATE returns SET label_status = 'sent', status = 'label_sent', "
            "label_attempts = label_attempts + 1 WHERE rma_id = $1 RETURNING label_attempts",
            job.rma_id,
        )
    finally:
        await conn.close()
    await announce(settings, job, "ok", int(attempts))
    return "sent"


async def record_failure(settings: ToolsSettings, job: LabelJob, error: str, attempts: int) -> None:
    """The last retry failed: a dead-letter row, the return marked, and a call event."""
    conn = await _connect(settings)
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO side_effect_dead_letters (task, subject_id, attempts, error) "
                "VALUES ('send_return_label', $1, $2, $3)",
                job.rma_id,
                attempts,
                error[:2000],
            )
            await conn.execute(
                "UPDATE returns SET label_status = 'failed', label_attempts = $2 WHERE rma_id = $1",
                job.rma_id,
                attempts,
            )
    finally:
        await conn.close()
    await announce(settings, job, "failed", attempts)


async def announce(
    settings: ToolsSettings, job: LabelJob, status: Literal["ok", "failed"], attempts: int
) -> None:
    """Publish the outcome on the call's event stream (``tool.side_effect``)."""
    event = new_event(
        ToolSideEffect(tool_call_id=job.tool_call_id or "-", name="start_return",
                       effect="return_label_email", status=status,
                       attempts=attempts, reference=job.rma_id),
        call_id=job.call_id or "-", line_id=job.line_id, source="tools",
    )  # fmt: skip
    producer = BufferedProducer(settings.kafka, client_id="tools-celery")
    try:
        await producer.send_now(
            settings.kafka.topic(CALL_EVENTS_TOPIC),
            key=event.call_id.encode(),
            value=event.to_json(),
        )
    finally:
        await producer.close(timeout_s=2.0)
