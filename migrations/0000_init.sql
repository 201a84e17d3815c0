CREATE TABLE "job_attempts" (
	"job_id" uuid NOT NULL,
	"n" integer NOT NULL,
	"provider" text NOT NULL,
	"model" text,
	"provider_job_id" text,
	"status" text NOT NULL,
	"error" jsonb,
	"cost_usd" double precision,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "job_attempts_job_id_n_pk" PRIMARY KEY("job_id","n")
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"modality" text NOT NULL,
	"operation" text NOT NULL,
	"status" text NOT NULL,
	"progress" double precision,
	"prompt" text,
	"input" jsonb NOT NULL,
	"output" jsonb,
	"error" jsonb,
	"message" text,
	"provider" text,
	"model" text,
	"provider_job_id" text,
	"idempotency_key" text,
	"input_hash" text NOT NULL,
	"cost_usd" double precision,
	"attempt_count" integer DEFAULT 0 NOT NULL,
	"poll_count" integer DEFAULT 0 NOT NULL,
	"next_poll_at" timestamp with time zone,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	CONSTRAINT "jobs_idempotency_key_unique" UNIQUE("idempotency_key")
);
--> statement-breakpoint
ALTER TABLE "job_attempts" ADD CONSTRAINT "job_attempts_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "jobs_due_idx" ON "jobs" USING btree ("status","next_poll_at");--> statement-breakpoint
CREATE INDEX "jobs_created_idx" ON "jobs" USING btree ("created_at");