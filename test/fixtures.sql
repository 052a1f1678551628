-- test/fixtures.sql: the template database every test file starts from.
--
-- Roles (cluster-wide, created once by test/run.sh):
--   ti_owner  the migration role: owns the tables (NOSUPERUSER, NOBYPASSRLS)
--   ti_app    the application role: neither superuser, nor BYPASSRLS, nor owner;
--             it holds exactly the grants README.md tells users to give
--   ti_prov   a provisioning role that may create and drop organizations
-- Organizations: A = 0a000000-0000-4000-8000-00000000000a ("Alpha Academy")
--                B = 0b000000-0000-4000-8000-00000000000b ("Beta Bootcamp")
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION tenant_iso;
GRANT CREATE ON SCHEMA public TO ti_owner;

-- the README's grants for the application role
GRANT USAGE ON SCHEMA public TO ti_app;
ALTER DEFAULT PRIVILEGES FOR ROLE ti_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ti_app;
ALTER DEFAULT PRIVILEGES FOR ROLE ti_owner IN SCHEMA public
    GRANT USAGE ON SEQUENCES TO ti_app;
GRANT SELECT ON tenant_iso.organizations TO ti_app;
-- the provisioning role
GRANT EXECUTE ON FUNCTION tenant_iso.create_organization(text, uuid) TO ti_prov;
GRANT EXECUTE ON FUNCTION tenant_iso.drop_organization(uuid) TO ti_prov;

SELECT tenant_iso.create_organization('Alpha Academy', '0a000000-0000-4000-8000-00000000000a');
SELECT tenant_iso.create_organization('Beta Bootcamp', '0b000000-0000-4000-8000-00000000000b');

SET ROLE ti_owner;
CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    email           text NOT NULL,
    name            text NOT NULL,
    UNIQUE (organization_id, email)
);
CREATE TABLE courses (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    title           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE lessons (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    course_id       uuid NOT NULL,
    title           text NOT NULL,
    position        int NOT NULL DEFAULT 1,
    FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id) ON DELETE CASCADE
);
CREATE TABLE enrollments (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    user_id         uuid NOT NULL,
    course_id       uuid NOT NULL,
    enrolled_at     timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (organization_id, user_id) REFERENCES users (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, course_id) REFERENCES courses (organization_id, id) ON DELETE CASCADE
);
CREATE TABLE assets (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    lesson_id       uuid NOT NULL,
    url             text NOT NULL,
    bytes           bigint NOT NULL DEFAULT 0,
    FOREIGN KEY (organization_id, lesson_id) REFERENCES lessons (organization_id, id) ON DELETE CASCADE
);
RESET ROLE;

-- Seed data: 2 users, 2 courses, 2 lessons, 2 enrollments, 2 assets per organization,
-- with fixed ids so tests can name another tenant's row.
--   users     a1/a2 = 1a..01/02, b1/b2 = 1b..01/02
--   courses   2a..01/02, 2b..01/02     lessons 3a.., 3b..
--   enrollments 4a.., 4b..             assets 5a.., 5b..
SET tenant.org_id = '0a000000-0000-4000-8000-00000000000a';
SET ROLE ti_app;
INSERT INTO users (id, email, name) VALUES
    ('1a000000-0000-4000-8000-000000000001', 'ada@alpha.test', 'Ada'),
    ('1a000000-0000-4000-8000-000000000002', 'alan@alpha.test', 'Alan');
INSERT INTO courses (id, title) VALUES
    ('2a000000-0000-4000-8000-000000000001', 'Algebra'),
    ('2a000000-0000-4000-8000-000000000002', 'Astronomy');
INSERT INTO lessons (id, course_id, title) VALUES
    ('3a000000-0000-4000-8000-000000000001', '2a000000-0000-4000-8000-000000000001', 'Variables'),
    ('3a000000-0000-4000-8000-000000000002', '2a000000-0000-4000-8000-000000000002', 'Stars');
INSERT INTO enrollments (id, user_id, course_id) VALUES
    ('4a000000-0000-4000-8000-000000000001', '1a000000-0000-4000-8000-000000000001', '2a000000-0000-4000-8000-000000000001'),
    ('4a000000-0000-4000-8000-000000000002', '1a000000-0000-4000-8000-000000000002', '2a000000-0000-4000-8000-000000000002');
INSERT INTO assets (id, lesson_id, url) VALUES
    ('5a000000-0000-4000-8000-000000000001', '3a000000-0000-4000-8000-000000000001', 'https://cdn.alpha.test/variables.mp4'),
    ('5a000000-0000-4000-8000-000000000002', '3a000000-0000-4000-8000-000000000002', 'https://cdn.alpha.test/stars.pdf');
RESET ROLE;
SET tenant.org_id = '0b000000-0000-4000-8000-00000000000b';
SET ROLE ti_app;
INSERT INTO users (id, email, name) VALUES
    ('1b000000-0000-4000-8000-000000000001', 'bea@beta.test', 'Bea'),
    ('1b000000-0000-4000-8000-000000000002', 'ada@alpha.test', 'Another Ada');
INSERT INTO courses (id, title) VALUES
    ('2b000000-0000-4000-8000-000000000001', 'Biology'),
    ('2b000000-0000-4000-8000-000000000002', 'Botany');
INSERT INTO lessons (id, course_id, title) VALUES
    ('3b000000-0000-4000-8000-000000000001', '2b000000-0000-4000-8000-000000000001', 'Cells'),
    ('3b000000-0000-4000-8000-000000000002', '2b000000-0000-4000-8000-000000000002', 'Roots');
INSERT INTO enrollments (id, user_id, course_id) VALUES
    ('4b000000-0000-4000-8000-000000000001', '1b000000-0000-4000-8000-000000000001', '2b000000-0000-4000-8000-000000000001'),
    ('4b000000-0000-4000-8000-000000000002', '1b000000-0000-4000-8000-000000000002', '2b000000-0000-4000-8000-000000000002');
INSERT INTO assets (id, lesson_id, url) VALUES
    ('5b000000-0000-4000-8000-000000000001', '3b000000-0000-4000-8000-000000000001', 'https://cdn.beta.test/cells.mp4'),
    ('5b000000-0000-4000-8000-000000000002', '3b000000-0000-4000-8000-000000000002', 'https://cdn.beta.test/roots.pdf');
RESET ROLE;
RESET tenant.org_id;
ANALYZE;
