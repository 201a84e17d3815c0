CREATE TABLE "webhook_deliveries" (
	"provider" text NOT NULL,
	"delivery_id" text PRIMARY KEY NOT NULL,
	"provider_job_id" text,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
