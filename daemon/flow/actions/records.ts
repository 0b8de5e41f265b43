// Tickets and appointments a caller leaves behind, kept on the box. With forwarding configured, each change is also
// an outbox item of kind "webhook", written in the same transaction as the record: the record never exists without
// its notification, nor the notification without the record.
import { randomUUID } from "node:crypto";
import type { Db } from "../../store/db.ts";
import type { Outbox } from "../../store/outbox.ts";
import { webhookItem } from "./webhook.ts";

export type Fields = Record<string, unknown>;
export type TicketState = "open" | "closed";
export type AppointmentState = "booked" | "cancelled";

export interface Ticket {
  id: string;
  callId?: string;
  createdAt: number;
  fields: Fields;
  state: TicketState;
}

export interface Appointment {
  id: string;
  callId?: string;
  createdAt: number;
  /** Who or what is booked (a person, a room); two booked appointments of one resource never overlap. */
  resource: string;
  startsAt: number;
  endsAt: number;
  fields: Fields;
  state: AppointmentState;
}

/** The slot overlaps a booked appointment of the same resource. */
export class SlotTakenError extends Error {
  override name = "SlotTakenError";
  constructor(
    readonly resource: string,
    readonly taken: Appointment,
  ) {
    super(
      `"${resource}" is already booked from ${new Date(taken.startsAt).toISOString()} to ` +
        `${new Date(taken.endsAt).toISOString()} (appointment ${taken.id})`,
    );
  }
}

/** Where record changes are sent: a configured webhook action, through the outbox. */
export interface RecordForwarding {
  outbox: Outbox;
  /** Name of the webhook action. */
  target: string;
}

interface TicketRow {
  id: string;
  call_id: string | null;
  created_at: number;
  fields: string;
  state: TicketState;
}

interface AppointmentRow extends Omit<TicketRow, "state"> {
  resource: string;
  starts_at: number;
  ends_at: number;
  state: AppointmentState;
}

const ticketOf = (r: TicketRow): Ticket => ({
  id: r.id,
  callId: r.call_id ?? undefined,
  createdAt: r.created_at,
  fields: JSON.parse(r.fields),
  state: r.state,
});

const appointmentOf = (r: AppointmentRow): Appointment => ({
  id: r.id,
  callId: r.call_id ?? undefined,
  createdAt: r.created_at,
  resource: r.resource,
  startsAt: r.starts_at,
  endsAt: r.ends_at,
  fields: JSON.parse(r.fields),
  state: r.state,
});

function fieldsJson(fields: Fields, what: string): string {
  if (typeof fields !== "object" || fields === null || Array.isArray(fields))
    throw new Error(`${what}: fields must be an object`);
  return JSON.stringify(fields);
}

export class LocalRecords {
  constructor(
    private readonly db: Db,
    private readonly forwarding?: RecordForwarding,
  ) {}

  createTicket(t: { callId?: string; fields: Fields; now?: number }): { ticket: Ticket; outboxId?: number } {
    const ticket: Ticket = {
      id: randomUUID(),
      callId: t.callId,
      createdAt: t.now ?? Date.now(),
      fields: t.fields,
      state: "open",
    };
    const fields = fieldsJson(t.fields, "ticket");
    return this.db.transaction(() => {
      this.db
        .prepare("INSERT INTO tickets (id, call_id, created_at, fields, state) VALUES (?, ?, ?, ?, 'open')")
        .run(ticket.id, ticket.callId ?? null, ticket.createdAt, fields);
      return { ticket, outboxId: this.forward("ticket.created", ticket.id, ticket.callId, ticket) };
    })();
  }

  getTicket(id: string): Ticket | undefined {
    const r = this.db.prepare("SELECT * FROM tickets WHERE id = ?").get(id) as TicketRow | undefined;
    return r && ticketOf(r);
  }

  /** Newest first. */
  listTickets(opts: { state?: TicketState; callId?: string; limit?: number } = {}): Ticket[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM tickets WHERE (@state IS NULL OR state = @state) AND (@callId IS NULL OR call_id = @callId)
         ORDER BY created_at DESC, rowid DESC LIMIT @limit`,
      )
      .all({ state: opts.state ?? null, callId: opts.callId ?? null, limit: opts.limit ?? 100 }) as TicketRow[];
    return rows.map(ticketOf);
  }

  /** False when there is no such open ticket. */
  closeTicket(id: string): boolean {
    return this.db.prepare("UPDATE tickets SET state = 'closed' WHERE id = ? AND state = 'open'").run(id).changes === 1;
  }

  /** Books [startsAt, endsAt) (epoch ms) for the resource; throws SlotTakenError when it overlaps a booked one. */
  createAppointment(a: {
    callId?: string;
    resource: string;
    startsAt: number;
    endsAt: number;
    fields: Fields;
    now?: number;
  }): {
    appointment: Appointment;
    outboxId?: number;
  } {
    if (!a.resource.trim()) throw new Error("appointment: resource is empty");
    if (!Number.isSafeInteger(a.startsAt) || !Number.isSafeInteger(a.endsAt) || a.endsAt <= a.startsAt)
      throw new Error(`appointment: endsAt (${a.endsAt}) must be a time after startsAt (${a.startsAt})`);
    const appointment: Appointment = {
      id: randomUUID(),
      callId: a.callId,
      createdAt: a.now ?? Date.now(),
      resource: a.resource,
      startsAt: a.startsAt,
      endsAt: a.endsAt,
      fields: a.fields,
      state: "booked",
    };
    const fields = fieldsJson(a.fields, "appointment");
    // IMMEDIATE takes the write lock before the overlap check, so two connections cannot both pass it.
    return this.db
      .transaction(() => {
        const taken = this.db
          .prepare(
            `SELECT * FROM appointments WHERE resource = ? AND state = 'booked' AND starts_at < ? AND ends_at > ?
             ORDER BY starts_at LIMIT 1`,
          )
          .get(a.resource, a.endsAt, a.startsAt) as AppointmentRow | undefined;
        if (taken) throw new SlotTakenError(a.resource, appointmentOf(taken));
        this.db
          .prepare(
            `INSERT INTO appointments (id, call_id, created_at, resource, starts_at, ends_at, fields, state)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'booked')`,
          )
          .run(appointment.id, a.callId ?? null, appointment.createdAt, a.resource, a.startsAt, a.endsAt, fields);
        const outboxId = this.forward("appointment.booked", appointment.id, a.callId, appointment);
        return { appointment, outboxId };
      })
      .immediate();
  }

  getAppointment(id: string): Appointment | undefined {
    const r = this.db.prepare("SELECT * FROM appointments WHERE id = ?").get(id) as AppointmentRow | undefined;
    return r && appointmentOf(r);
  }

  /** By start time; `from`/`to` select appointments overlapping that window. */
  listAppointments(
    opts: { resource?: string; state?: AppointmentState; from?: number; to?: number; limit?: number } = {},
  ): Appointment[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM appointments
         WHERE (@resource IS NULL OR resource = @resource) AND (@state IS NULL OR state = @state)
           AND (@from IS NULL OR ends_at > @from) AND (@to IS NULL OR starts_at < @to)
         ORDER BY starts_at, rowid LIMIT @limit`,
      )
      .all({
        resource: opts.resource ?? null,
        state: opts.state ?? null,
        from: opts.from ?? null,
        to: opts.to ?? null,
        limit: opts.limit ?? 100,
      }) as AppointmentRow[];
    return rows.map(appointmentOf);
  }

  /** Frees the slot; undefined when there is no such booked appointment. */
  cancelAppointment(id: string): { appointment: Appointment; outboxId?: number } | undefined {
    return this.db.transaction(() => {
      const changed = this.db
        .prepare("UPDATE appointments SET state = 'cancelled' WHERE id = ? AND state = 'booked'")
        .run(id).changes;
      if (changed !== 1) return undefined;
      const appointment = this.getAppointment(id)!;
      return { appointment, outboxId: this.forward("appointment.cancelled", id, appointment.callId, appointment) };
    })();
  }

  private forward(event: string, id: string, callId: string | undefined, data: unknown): number | undefined {
    if (!this.forwarding) return undefined;
    const item = webhookItem({ target: this.forwarding.target, event, data, idempotencyKey: `${event}:${id}`, callId });
    return this.forwarding.outbox.enqueue(item);
  }
}
