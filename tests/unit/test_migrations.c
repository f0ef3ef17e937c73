/*
 * test_migrations.c — the schema's migrations are the released ones.
 *
 * A released migration is never edited (store/migrations.c): databases
 * that ran it are recorded in schema_migrations by version and name only,
 * so an edited text would leave them with another schema than a fresh
 * database, and nothing would say so.  The SQL each backend runs for each
 * version is pinned here by its SHA-256; a new migration adds its two
 * rows, and no row ever changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/buf.h"
#include "store/backend.h"
#include "common/banned.h"

static const struct {
	enum store_kind kind;
	int version;
	const char *name;
	const char *sha256; /* of the SQL text the backend runs */
} released[] = {
	{ STORE_SQLITE, 1, "0001_platform",
	  "c147c68788b80f08dc07bdd395f07e28c96b90c5cfc0f57960cfd42e117d8c53" },
	{ STORE_SQLITE, 2, "0002_vault",
	  "ca8077bc4f27399493733841b5f067e95225d33253504d58d22d988ed16e8a70" },
	{ STORE_SQLITE, 3, "0003_consents",
	  "6b07520b3137193de45108e61d972a7de9a5df48cbcd721fbc5f556c56adf3f4" },
	{ STORE_SQLITE, 4, "0004_totp_once",
	  "b2f5ecb2fe96407c947697d3a791613ed4fcb9d20599c966b8c660ad35e66d0f" },
	{ STORE_SQLITE, 5, "0005_active_consents",
	  "9b8816042f833ebed16b42ea7434ff198b0ac5e5606918bb4234b742b513254d" },
	{ STORE_SQLITE, 6, "0006_no_truncate",
	  "17db4fd369edb9244b9f91d9aeed145c3d04ad8ba6e95d06247f07a63527d11a" },
	{ STORE_SQLITE, 7, "0007_phone_changes",
	  "feb6e179163c622224b596701614dc528bc3fa517fa93cb9124f010153e613f6" },
	{ STORE_SQLITE, 8, "0008_exchange",
	  "b23669added7a98abc7c9b04d605de57e9d1be95f17e8661d33a1a0ae041c8b8" },
	{ STORE_SQLITE, 9, "0009_lending",
	  "933fc1104c55852a9698f765f355a84fb0622e501ffab6644f1c2e422672b3aa" },
	{ STORE_SQLITE, 10, "0010_loans",
	  "cc9a50cca4faa935a6903a1d92accca0aa2a12aa1d36276f981c3f2f80522339" },
	{ STORE_SQLITE, 11, "0011_decisions",
	  "fd98b3316ea12048ae9803663c65701105cdcf4936ef6abc87c5f36d701b697e" },
	{ STORE_SQLITE, 12, "0012_eod",
	  "320fd1dff92bdb8b65e0e164cbd3200b017ade2d5e908ccd17dd7cf3905ca1cf" },
	{ STORE_SQLITE, 13, "0013_payments",
	  "4755daa3c9173ae60bdbf3d6ec960c87a75a1056363875bbfd924026428bcdcb" },
	{ STORE_SQLITE, 14, "0014_contracts",
	  "d579c80da3b9de4aa2fac7bc59b70b8a7afb26692ca122f57ea1eb0aff4af637" },
	{ STORE_SQLITE, 15, "0015_restructuring",
	  "14463f3808bf61f8701dcaf81b74f1014a35aaaf25ed54729cb6860a2bd70279" },
	{ STORE_SQLITE, 16, "0016_requests",
	  "1c83690dd60149deee1e8a56fc38cbe2aee368b024cf80be2256a67f5fb03f1f" },
	{ STORE_SQLITE, 17, "0017_retention",
	  "b982275ad44f969029add87875d1992f7849bc78886825359e4f71f4697c1b1a" },
	{ STORE_SQLITE, 18, "0018_access_packages",
	  "5040f476e626afaf482d2609374f3f9ba42f5e1f0ab0081fe0734f1b023d0ff6" },
	{ STORE_SQLITE, 19, "0019_payouts",
	  "73bae63165e6036fae57e6a5f7f242c2404364d9e923e430731604dc3740c63b" },
	{ STORE_SQLITE, 20, "0020_deployment",
	  "2109213aa8b0149216d8078c402f7580b0a3d736bad43fceccc7baae7bfaf9c8" },
	{ STORE_SQLITE, 21, "0021_rights",
	  "fac5804ae7943a065b53bf6fd39d2eda47600975ee56e22fb543587431f002d2" },
	{ STORE_SQLITE, 22, "0022_applied_events",
	  "bd92bcc6e17141a4f1628dad696d2c2536817710f012a9d3cd46ae109526cd34" },
	{ STORE_SQLITE, 23, "0023_declared_income",
	  "30ddd59aa19c8aeabe1607fe311616a8607bc558fdae5e066ed83e8d82688782" },
	{ STORE_SQLITE, 24, "0024_carried_interest",
	  "7d2a68d120948635e2775967a68cf5de35079892d984471ad1087e128e91b0c6" },
	{ STORE_SQLITE, 25, "0025_contract_sequence",
	  "a9d4df9e978eb666082b8ece7383962e8ba01fb3d9de5681981b22e4fd21022f" },
	{ STORE_SQLITE, 26, "0026_cards",
	  "87d81788489ba3e6ac1144cff7fbaf52ba5fdb57ef329f239cdca137300eb73a" },
	{ STORE_SQLITE, 27, "0027_source_categories",
	  "a68a1c97d989157f12c77146aedc894199058baa27e07b345bcb3723e3476c40" },
	{ STORE_POSTGRES, 1, "0001_platform",
	  "f11cca893ea313bce44d7be0d80c1c9066ca1870f5b016987b010f3895995639" },
	{ STORE_POSTGRES, 2, "0002_vault",
	  "8549b6bf2370086b832357f9433db8490873a065838b5639d8ab2b8abe1b8574" },
	{ STORE_POSTGRES, 3, "0003_consents",
	  "a6e0e540ebd9f30f0f36b86d2bffc58f7b6992559999cc341e7265ba5f5e8213" },
	{ STORE_POSTGRES, 4, "0004_totp_once",
	  "b2f5ecb2fe96407c947697d3a791613ed4fcb9d20599c966b8c660ad35e66d0f" },
	{ STORE_POSTGRES, 5, "0005_active_consents",
	  "9b8816042f833ebed16b42ea7434ff198b0ac5e5606918bb4234b742b513254d" },
	{ STORE_POSTGRES, 6, "0006_no_truncate",
	  "05d006454ef43ac4c3d00dcace38703da0e75152852aacb21620f5f8f984299a" },
	{ STORE_POSTGRES, 7, "0007_phone_changes",
	  "884e074b8078ca93caa7176aa487243a1c7b50f07589cd41418f1cb81a1259dc" },
	{ STORE_POSTGRES, 8, "0008_exchange",
	  "a53de97afa9699d275fd4ae1cdd37346606cdf5df047ebcce23082fa8b0f053d" },
	{ STORE_POSTGRES, 9, "0009_lending",
	  "4c793b82fa1283ef24593dd494d052a306a2bc65bc329584c1bad1a4aa84bc37" },
	{ STORE_POSTGRES, 10, "0010_loans",
	  "7ff1a58cc12389b691a033ec3954ed1f630e84099f3052f5a08c85bf3bc57f59" },
	{ STORE_POSTGRES, 11, "0011_decisions",
	  "6dc71448c721e9ee7e520fd1c9a7b6c7621c083e078b14ef246a95d1015a1c02" },
	{ STORE_POSTGRES, 12, "0012_eod",
	  "320fd1dff92bdb8b65e0e164cbd3200b017ade2d5e908ccd17dd7cf3905ca1cf" },
	{ STORE_POSTGRES, 13, "0013_payments",
	  "a8bc41ab810d3573928ada5b2bd722ca6c1b8b089a0e21f7fcff98d3e15790c1" },
	{ STORE_POSTGRES, 14, "0014_contracts",
	  "d18fff2a01fde843c6f78031e417839872c7271eababd998d31b88bdc453533b" },
	{ STORE_POSTGRES, 15, "0015_restructuring",
	  "14463f3808bf61f8701dcaf81b74f1014a35aaaf25ed54729cb6860a2bd70279" },
	{ STORE_POSTGRES, 16, "0016_requests",
	  "6a093b53193873a52a4a20d235aeaa80b76d73033a547946f5d13de44533e9bd" },
	{ STORE_POSTGRES, 17, "0017_retention",
	  "b982275ad44f969029add87875d1992f7849bc78886825359e4f71f4697c1b1a" },
	{ STORE_POSTGRES, 18, "0018_access_packages",
	  "5040f476e626afaf482d2609374f3f9ba42f5e1f0ab0081fe0734f1b023d0ff6" },
	{ STORE_POSTGRES, 19, "0019_payouts",
	  "73bae63165e6036fae57e6a5f7f242c2404364d9e923e430731604dc3740c63b" },
	{ STORE_POSTGRES, 20, "0020_deployment",
	  "2109213aa8b0149216d8078c402f7580b0a3d736bad43fceccc7baae7bfaf9c8" },
	{ STORE_POSTGRES, 21, "0021_rights",
	  "f44828cae6fde4eae263ace093f83a639d71469b75fb9cd948917aab3404ecad" },
	{ STORE_POSTGRES, 22, "0022_applied_events",
	  "70db60743214bf08443e1c758ab85fd7b8fdb1459c5f7ea8f77b1b20a346153d" },
	{ STORE_POSTGRES, 23, "0023_declared_income",
	  "8bd1aba8f3aa902d75117823b10426ef0fd4162c2b4978191774788fb7788dcf" },
	{ STORE_POSTGRES, 24, "0024_carried_interest",
	  "7d2a68d120948635e2775967a68cf5de35079892d984471ad1087e128e91b0c6" },
	{ STORE_POSTGRES, 25, "0025_contract_sequence",
	  "a9d4df9e978eb666082b8ece7383962e8ba01fb3d9de5681981b22e4fd21022f" },
	{ STORE_POSTGRES, 26, "0026_cards",
	  "f87cb01531be82dc3fa4b25e9215feaf29aa5c75d4e506b5b4b4f4bab79f6153" },
	{ STORE_POSTGRES, 27, "0027_source_categories",
	  "a68a1c97d989157f12c77146aedc894199058baa27e07b345bcb3723e3476c40" },
};

#define NRELEASED (sizeof(released) / sizeof(released[0]))

/* The SHA-256 of m's script as `kind` runs it, in hex. */
static void sql_sha256(const struct store_migration *m, enum store_kind kind,
		       char hex[2 * crypto_hash_sha256_BYTES + 1])
{
	struct buf sql;
	buf_init(&sql, BUF_NO_LIMIT);
	assert_int_equal(store_migration_sql(m, kind, &sql), SENIM_OK);
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)sql.data, sql.len);
	sodium_bin2hex(hex, 2 * crypto_hash_sha256_BYTES + 1, h, sizeof(h));
	buf_release(&sql);
}

/* Every released migration is still there, under its version and name,
 * and each backend runs the very SQL it was released with. */
static void test_released_migrations_unchanged(void **state)
{
	(void)state;
	size_t count = 0;
	const struct store_migration *ms = store_migrations(&count);
	for (size_t i = 0; i < NRELEASED; i++) {
		const struct store_migration *m = NULL;
		for (size_t j = 0; j < count; j++)
			if (ms[j].version == released[i].version)
				m = &ms[j];
		assert_non_null(m);
		assert_string_equal(m->name, released[i].name);
		char hex[2 * crypto_hash_sha256_BYTES + 1];
		sql_sha256(m, released[i].kind, hex);
		if (strcmp(hex, released[i].sha256) != 0)
			fail_msg("migration %s on %s was edited: sha256 %s",
				 released[i].name,
				 released[i].kind == STORE_SQLITE ? "sqlite" : "postgres",
				 hex);
	}
}

/* Versions run 1, 2, 3, ... with no gap, and every one of them has its
 * words in both dialects (no {name} the dialect table lacks). */
static void test_versions_in_order(void **state)
{
	(void)state;
	size_t count = 0;
	const struct store_migration *ms = store_migrations(&count);
	assert_true(count >= 9);
	for (size_t i = 0; i < count; i++) {
		assert_int_equal(ms[i].version, (int64_t)i + 1);
		for (int kind = STORE_SQLITE; kind <= STORE_POSTGRES; kind++) {
			struct buf sql;
			buf_init(&sql, BUF_NO_LIMIT);
			assert_int_equal(store_migration_sql(&ms[i], kind, &sql),
					 SENIM_OK);
			assert_null(strchr(sql.data, '{'));
			assert_true(sql.len > 0);
			buf_release(&sql);
		}
	}
}

/* A name the dialect table lacks is refused, not run half-substituted. */
static void test_unknown_name_refused(void **state)
{
	(void)state;
	const struct store_migration bad[] = {
		{ 99, "0099_typo", "CREATE TABLE t (x {blbo});" },
		{ 99, "0099_open", "CREATE TABLE t (x {blob);" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct buf sql;
		buf_init(&sql, BUF_NO_LIMIT);
		assert_int_equal(store_migration_sql(&bad[i], STORE_SQLITE, &sql),
				 SENIM_ERR_INVALID);
		buf_release(&sql);
	}
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_released_migrations_unchanged),
		cmocka_unit_test(test_versions_in_order),
		cmocka_unit_test(test_unknown_name_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
