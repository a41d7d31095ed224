/*
 * network.c: parameters of the known Hathor networks and their genesis.
 *
 * Every value is taken from hathor-core: hathorlib/hathorlib/conf/
 * settings.py for the defaults, hathorlib/hathorlib/conf/{mainnet,testnet,
 * nano_testnet,localnet,unittests}.yml for the live networks (localnet.yml
 * "extends" testnet.yml, so privatenet inherits india's feature activation
 * and exceptions) and the historical hathor/conf/testnet.yml @a5387789
 * (golf) and hathor/conf/testnet_hotel.yml @c8a8ba4a (hotel).
 *
 * The first lookup fills every network once (pthread_once): defaults, the
 * per-network overrides, the hex tables decoded to bytes, and the three
 * genesis vertices rebuilt with the codec exactly as the reference's
 * _construct_genesis_block/_tx1/_tx2 do.  A network whose rebuilt genesis
 * does not hash to the published values is logged and never returned.
 * After that the structs are read-only, so sharing them between threads is
 * safe.
 */
#include "hn/network.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hn/err.h"
#include "hn/hash.h"
#include "hn/hex.h"
#include "hn/log.h"
#include "hn/vertex.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A checkpoint as the reference writes it: height and hash in hex. */
struct hex_checkpoint {
	uint64_t height;
	const char *hash;               /* 64 hex digits, display order */
};

static const struct hex_checkpoint mainnet_checkpoints[] = {
	{ 100000,
	  "0000000000001247073138556b4f60fff3ff6eec6521373ccee5a6526a7c10af" },
	{ 200000,
	  "00000000000001bf13197340ae0807df2c16f4959da6054af822550d7b20e19e" },
	{ 300000,
	  "00000000000000e1e8bdba2006cc34db3a1f20294cbe87bd52cceda245238290" },
	{ 400000,
	  "000000000000002ae98f2a15db331d059eeed34d71f813f51d1ac1dbf3d94089" },
	{ 500000,
	  "00000000000000036f2f7234f7bf83b5746ce9b8179922d2781efd82aa3d72bf" },
	{ 600000,
	  "0000000000000001ad38d502f537ce757d7e732230d22434238ca215dd92cca1" },
	{ 700000,
	  "000000000000000066f04be2f3a8607c1c71682e65e07150822fb03afcbf4035" },
	{ 800000,
	  "0000000000000000958372b3ce24a26ce97a3b063c835e7d55c632f289f2cdb0" },
	{ 900000,
	  "0000000000000000c9bac3c3c71a1324f66481be03ad0e5d5fbbed94fc6b8794" },
	{ 1000000,
	  "00000000000000001060adafe703b8aa28c7d2cfcbddf77d52e62ea0a1df5416" },
	{ 1100000,
	  "00000000000000000ecc349992158a3972e7a24af494a891a8d1ae3ab982ee4e" },
	{ 1200000,
	  "000000000000000091ddabd35a0c3984609e2892b72b14d38d23d58e1fa87c91" },
	{ 1300000,
	  "00000000000000000244794568649ac43e0abd4b53b1a583b6cc8e243e65f582" },
	{ 1400000,
	  "000000000000000011a65b1c3cba2b94ad05525ac2ec60f315bb7b204c8160c7" },
	{ 1500000,
	  "0000000000000000ddbbf005a3970f256ad46167fc2143796d8f87c0c905e657" },
	{ 1600000,
	  "00000000000000011098dda3dbe2ac95287ec0f3c12edc5c054dd8edc70cd6c3" },
	{ 1700000,
	  "000000000000000054278ce817fda6cd3287144545babf0a415f883d074601ab" },
	{ 1800000,
	  "00000000000000002110c5ccb781bee9fea0a4cbbd49e52023ffb5900732ee4d" },
	{ 1900000,
	  "000000000000000032a8f2411190e1e49ff577d352950011083b85d935453338" },
	{ 2000000,
	  "000000000000000005c31cc418e95497dbb2017a6ae2683a1550bd61f180b5b1" },
	{ 2100000,
	  "00000000000000000c96c02d514017263d4e624a61fb9f10babcbf8d4632b67b" },
	{ 2200000,
	  "00000000000000001016a7bbb6ccfc957ba6d29a562b43e8620f57ddc9147dde" },
	{ 2300000,
	  "0000000000000000164dafd8d922c783a99d83f66220eb7c54f11bee1aaac126" },
	{ 2400000,
	  "0000000000000000067aa4bf7306dadf0f56e38380327a472f55e7be72fbe7da" },
	{ 2500000,
	  "00000000000000000c418b03ceb3a4fe7023674811f8ec94d7b9d5b1879ddc28" },
	{ 2600000,
	  "0000000000000000020af703e2955e3f7934e8bc376da2ba6cfc6dc609feaf84" },
	{ 2700000,
	  "00000000000000000cf3a35ab01a2281024ca4ca7871f5a6d67106eb36151038" },
	{ 2800000,
	  "000000000000000004439733fd419a8a747e8afe2f89348a17c1fac24538a63c" },
	{ 2900000,
	  "0000000000000000090cbd5a7958c82a2b969103001d92334f287dadcf3e01bc" },
	{ 3000000,
	  "000000000000000013c9086f4ce441f5db5de55a5e235f4f7f1ef223aedfe2db" },
	{ 3100000,
	  "00000000000000000d226a5998ffc65af89b1226126b1af1f8d0712a5301c775" },
	{ 3200000,
	  "0000000000000000028d9629d85d93d0f5e798a498ca7b1710ffc157fa045cd5" },
	{ 3300000,
	  "0000000000000000065b74441acb3d2ff770d384b2bad44c9823f26a0327690c" },
	{ 3400000,
	  "000000000000000077242c961a0c6f708bc671a8372eb8b095311f091fddc6c3" },
	{ 3500000,
	  "000000000000000a34ba20552c3cae9549b9c5ca07f644cf005328c948aa54d8" },
	{ 3600000,
	  "000000000000000011031d9ff030cd9e6fe8a3766bbeda6f6337c40dd30fa65f" },
	{ 3700000,
	  "0000000000000006c6e7295efcf0929173cc47ece41afc652410b72f36cbeeda" },
	{ 3800000,
	  "00000000000000122f57d59c7f6736a83483dcf71c34978102d7e04ce4dc9a5d" },
	{ 3900000,
	  "00000000000000069edf3300d6c41451485d7aabdbea34425a2411b880e8a976" },
	{ 4000000,
	  "00000000000000043b11a6c86c3cdaf773a5183737f136e196e816f862e1e3ba" },
	{ 4100000,
	  "0000000000000020822d529b6fcd8611f5a174b1f44a6c478a2fec64a80233ad" },
	{ 4200000,
	  "00000000000000052ffc34875fab4e545bc9dc76f1212c4fdafab3b6d7a026cd" },
	{ 4300000,
	  "000000000000000e1ea2af0e25087c0977e944dd0ffdae5fdff54dda85ed95be" },
	{ 4400000,
	  "0000000000000000020dab883c57e21829b590ef61ff5230f5fdc9d572300945" },
	{ 4500000,
	  "00000000000000034d5ddf802a8ac8fbf17cf50747041e433d28d9f2bcb6ef02" },
	{ 4600000,
	  "000000000000000055bb4e5b6d942da13cb631f318cfdc292793f28ef8a338ca" },
	{ 4700000,
	  "000000000000000002ae1d75811b1050fc98ee7ef30c48cde117ebbb42f47e22" },
	{ 4800000,
	  "00000000000000000716b8d9e96591ba7cb2d02c3d2d1d98d514f41c240fdff7" },
	{ 4900000,
	  "0000000000000000079b1c1ebf48d351a7d31dcc55c5b4cf79ade79089a20f5a" },
	{ 5000000,
	  "000000000000000006c9167db1cc7e93fcf1c3014da6c6221390d03d1640c9b3" },
	{ 5100000,
	  "00000000000000000457a197bd275072c94e06375e0a6e68009b96efe19c4312" },
	{ 5200000,
	  "0000000000000000129f5df95d0ba289294c2c323476ea9f4109893cd54c424c" },
	{ 5300000,
	  "000000000000000007fe11691accc9f60e4f137e574ee1d49b40489383870ac3" },
	{ 5400000,
	  "000000000000000005b68b807d93f0ddd59e78256440d3f0f51c04ed7eeab15c" },
	{ 5500000,
	  "0000000000000000073630c47eebcef4cd0ed6db285d7e2eae8a54ed0d281830" },
	{ 5600000,
	  "00000000000000000607272c96cb626b79c5cbb3374769c68355b66ae6523d1e" },
	{ 5700000,
	  "000000000000000009a1be8175e9f5b71dc99d6c410c8f221be9ebcf50464705" },
	{ 5800000,
	  "00000000000000000b720f51d2d833493abb6f8a3d03b59e6fa787e19893b0eb" },
	{ 5900000,
	  "00000000000000000a4377aacaeae91cb3fb5598f8b304a7b0af1e2c1fdd01dc" },
	{ 6000000,
	  "00000000000000000f3df4a77733405a250f702a496f87686c09f455865b66cc" },
	{ 6100000,
	  "000000000000000002468a51610f3cd66a42e67411bfd878da02b12297bfa2d1" },
	{ 6200000,
	  "00000000000000000a0ffe1c6429cac7b65be5e81cac365e3837771b9795a142" },
	{ 6300000,
	  "00000000000000000f9db567260895c9f365200f711508587b7c6d2111bf699b" },
	{ 6400000,
	  "000000000000000005cf2f4290c997f9361af252d425706b940f1bd58d835862" },
};
static const struct hex_checkpoint golf_checkpoints[] = {
	{ 100000,
	  "0000007ece4c7830169f360ed11c51b776e1b72bf0060e6e5b325ca8be474ac5" },
	{ 200000,
	  "00000113ecd4b666116abf3d3f05ad509d903d6b456a1e8c35e46a9e426af11a" },
	{ 300000,
	  "000000e42df13e4e7490cee98f303cb3b0ca33f362af180c5f7df740c98699d9" },
	{ 400000,
	  "000000e9a748b34fc4d662d88bb36ef2a033ba129960924208be14eccdac1a65" },
	{ 500000,
	  "000000b5c4572d7b85e585849540ece44b73948c5cdbc6f17a9a3a77fbd0f29a" },
	{ 600000,
	  "000000f6743ba3d67e51d7adc21821b8263726ce3bc86010d5e1a905bf2531dc" },
	{ 700000,
	  "0000008fda01c9e5fd6f99a5461e6dbf1039cba38cc8d0fc738a097d71caa968" },
	{ 800000,
	  "000000397af32fcc4eeb6985d96326c1ff4644792631872a00394688b1782af5" },
	{ 900000,
	  "00000097ae405036614f4335ad0e631df8fc5f7434e82c3421627e2fea4e1830" },
	{ 1000000,
	  "000000145ba662cdee0d72034658f93a0a3a4568d5ba5083ff09013ca1e6556c" },
	{ 1100000,
	  "000000404e6ff6a23695a6ffe712ce1c4efc02e75bbc11c3129f4c2377b07743" },
	{ 1200000,
	  "0000003be5fae5bb2c9ceaed589d172bcd9e74ca6c8d7d2ca06567f65cea7c9b" },
	{ 1300000,
	  "0000000000007d39de6e781c377bc202213b0b5b60db14c13d0b16e06d6fd5ac" },
	{ 1400000,
	  "000000000df9cb786c68a643a52a67c22ab54e8b8e41cbe9b761133f6c8abbfe" },
	{ 1500000,
	  "000000000c3591805f4748480b59ac1788f754fc004930985a487580e2b5de8f" },
	{ 1600000,
	  "00000000060adfdfd7d488d4d510b5779cf35a3c50df7bcff941fbb6957be4d2" },
	{ 1700000,
	  "0000000007afc04aebad15b14fcd93c1b5193dc503b190433f55be8c218b6d12" },
	{ 1800000,
	  "00000000126f16af2ba934a60cf8f2da32d3ed2688c56ce8ff477e483a3ffc42" },
	{ 1900000,
	  "0000000005d2a2ba2231663187b460396189af0ffca7b2e93fccc85cde04cbdc" },
	{ 2000000,
	  "000000000009a8451ff2d5ec54951d717da2766aedb3131485466cc993879ee1" },
	{ 2100000,
	  "0000000009f961804cd7f43da05f08a94a2fa09f82c7d605afc5982ab242a7e4" },
	{ 2200000,
	  "0000000002e260b970846a89c23e754a763e7c5f1578b6ec4e67bdb94c667997" },
	{ 2300000,
	  "0000000006e0894c8f7fd029fe446a42433875647759183ba3fbb0ff0b7ceb64" },
	{ 2400000,
	  "0000000011ab28f3be17e3a098307fa73750cc8d74f1f60cfb44b524a60c94ec" },
	{ 2500000,
	  "00000000045d2bcc10c896bfc7d1f28788e3530a81f50ee096f386eec772634f" },
	{ 2600000,
	  "000000000766b9ac25e2ece5685effa834e61284e38f368c841210606bb1fdfc" },
	{ 2700000,
	  "0000000005d0ee31d0f47f6ff9aa570b9f25b9d44a8a59cea0e0f8a1729b9c90" },
	{ 2800000,
	  "000000000a5bd4f266fa13d2c0594cabf6465758f7f5814bde626032706b81e5" },
	{ 2900000,
	  "000000000b11b0a09ff0d7c2cfd9228f31c53008e700532e439d3a3d9c63fb8e" },
	{ 3000000,
	  "00000000013289569569cd51580183a2c870dfe5a395adaa00ae66fefe51af3d" },
	{ 3100000,
	  "00000000170c55e6ec207400bfc42786c1e0c32fe045a1d815f930daf2bf3020" },
	{ 3200000,
	  "00000000149986cb99c202136bd388fb2a7fcba4bdfd6ac049069ac5e08a587f" },
	{ 3300000,
	  "000000000e16f87ac7133639cb52a99574944b8457939396e7faf1615fcfdb0f" },
	{ 3400000,
	  "000000000f551f6224a459904436072f5ff10fd3db17f2d7e25b1ef9b149c121" },
	{ 3500000,
	  "0000000006572b8cf41130e88776adf8583e970905df2afe593ca31c91ab0c4c" },
	{ 3600000,
	  "000000000215fcc7018cc31bbfb943ca43c6297529fa008bf34665f3ac64d340" },
	{ 3700000,
	  "000000000dbf5e8ab4f90f2187db6db429c9d0cb8169051ce8a9e79b810509d7" },
	{ 3800000,
	  "00000000030411ec36c7f5386a94e147460d86592f85459e0eadd5cd0e3da7b4" },
	{ 3900000,
	  "000000000bc2c7078a3c59d878196f1491aad45a0df9d312909d85482ac8d714" },
	{ 4000000,
	  "000000000eba0dae3ec27cf5596ef49731744edebadb9fbae42160b6aa2e2461" },
	{ 4100000,
	  "00000000052aa77fd8db71d5306257f9fe068c3401d95b17fcedcccfc9b76c82" },
	{ 4200000,
	  "00000000010a8dae043c84fcb2cef6a2b42a28279b95af20ab5a098acf2a3565" },
	{ 4300000,
	  "000000000019da781ef75fa5f59c5537d8ed18b64c589c3e036109cfb1d84f7d" },
};
static const struct hn_feature mainnet_features[] = {
	{
		.name = "INCREASE_MAX_MERKLE_PATH_LENGTH",
		.bit = 0,
		.start_height = 4475520,
		.timeout_height = 4798080,
		.minimum_activation_height = 4636800,
		.lock_in_on_timeout = false,
		.version = "0.60.0",
		.signal_support_by_default = true,
		.threshold = 0,
	},
	{
		.name = "COUNT_CHECKDATASIG_OP",
		.bit = 0,
		.start_height = 5765760,
		.timeout_height = 6350400,
		.minimum_activation_height = 0,
		.lock_in_on_timeout = false,
		.version = "0.64.0",
		.signal_support_by_default = true,
		.threshold = 0,
	},
	{
		.name = "NANO_CONTRACTS",
		.bit = 1,
		.start_height = 5947200,
		.timeout_height = 6350400,
		.minimum_activation_height = 6048000,
		.lock_in_on_timeout = false,
		.version = "0.67.0",
		.signal_support_by_default = true,
		.threshold = 0,
	},
	{
		.name = "FAILED_FEE_TOKENS",
		.bit = 2,
		.start_height = 6249600,
		.timeout_height = 6592320,
		.minimum_activation_height = 6350400,
		.lock_in_on_timeout = false,
		.version = "0.69.0",
		.signal_support_by_default = true,
		.threshold = 0,
	},
	{
		.name = "FAILED_OPCODES_V2",
		.bit = 3,
		.start_height = 6249600,
		.timeout_height = 6592320,
		.minimum_activation_height = 6350400,
		.lock_in_on_timeout = false,
		.version = "0.69.0",
		.signal_support_by_default = true,
		.threshold = 0,
	},
	{
		.name = "FEE_TOKENS",
		.bit = 0,
		.start_height = 6552000,
		.timeout_height = 7015680,
		.minimum_activation_height = 6632640,
		.lock_in_on_timeout = false,
		.version = "0.70.0",
		.signal_support_by_default = true,
		.threshold = 0,
	},
	{
		.name = "REDUCE_DAA_TARGET",
		.bit = 1,
		.start_height = 6552000,
		.timeout_height = 6713280,
		.minimum_activation_height = 6632640,
		.lock_in_on_timeout = false,
		.version = "0.70.0",
		.signal_support_by_default = true,
		.threshold = 0,
	},
	{
		.name = "OPCODES_V2",
		.bit = 3,
		.start_height = 6612480,
		.timeout_height = 7257600,
		.minimum_activation_height = 0,
		.lock_in_on_timeout = false,
		.version = "0.70.0",
		.signal_support_by_default = true,
		.threshold = 0,
	},
	{
		.name = "RESTRICT_DUP_ACTIONS",
		.bit = 2,
		.start_height = 6612480,
		.timeout_height = 7257600,
		.minimum_activation_height = 0,
		.lock_in_on_timeout = false,
		.version = "0.70.0",
		.signal_support_by_default = true,
		.threshold = 0,
	},
};
static const struct hn_feature india_features[] = {
	{
		.name = "COUNT_CHECKDATASIG_OP",
		.bit = 0,
		.start_height = 0,
		.timeout_height = 1440,
		.minimum_activation_height = 0,
		.lock_in_on_timeout = false,
		.version = "0.67.0",
		.signal_support_by_default = true,
		.threshold = 0,
	},
	{
		.name = "NANO_CONTRACTS",
		.bit = 0,
		.start_height = 14400,
		.timeout_height = 23040,
		.minimum_activation_height = 0,
		.lock_in_on_timeout = false,
		.version = "0.67.0",
		.signal_support_by_default = true,
		.threshold = 0,
	},
	{
		.name = "FEE_TOKENS",
		.bit = 1,
		.start_height = 295680,
		.timeout_height = 304320,
		.minimum_activation_height = 0,
		.lock_in_on_timeout = false,
		.version = "0.69.0",
		.signal_support_by_default = true,
		.threshold = 0,
	},
	{
		.name = "OPCODES_V2",
		.bit = 0,
		.start_height = 335520,
		.timeout_height = 347040,
		.minimum_activation_height = 0,
		.lock_in_on_timeout = false,
		.version = "0.69.0",
		.signal_support_by_default = true,
		.threshold = 0,
	},
	{
		.name = "REDUCE_DAA_TARGET",
		.bit = 1,
		.start_height = 598800,
		.timeout_height = 639120,
		.minimum_activation_height = 0,
		.lock_in_on_timeout = false,
		.version = "0.70.0",
		.signal_support_by_default = true,
		.threshold = 0,
	},
	{
		.name = "RESTRICT_DUP_ACTIONS",
		.bit = 2,
		.start_height = 675120,
		.timeout_height = 836400,
		.minimum_activation_height = 0,
		.lock_in_on_timeout = false,
		.version = "0.70.0",
		.signal_support_by_default = true,
		.threshold = 0,
	},
};
static const struct hn_feature golf_features[] = {
	{
		.name = "INCREASE_MAX_MERKLE_PATH_LENGTH",
		.bit = 3,
		.start_height = 3548160,
		.timeout_height = 3588480,
		.minimum_activation_height = 0,
		.lock_in_on_timeout = false,
		.version = "0.59.0",
		.signal_support_by_default = true,
		.threshold = 0,
	},
	{
		.name = "NOP_FEATURE_1",
		.bit = 0,
		.start_height = 4495680,
		.timeout_height = 4576320,
		.minimum_activation_height = 0,
		.lock_in_on_timeout = false,
		.version = "0.63.0",
		.signal_support_by_default = true,
		.threshold = 0,
	},
};
static const char *const mainnet_soft_voided[] = {
	"0000000012a922a6887497bed9c41e5ed7dc7213cae107db295602168266cd02",
	"000000001980b413ad5b5c5152338093aecfb1f5a7563d4e7fef8fb240a50bb9",
	"000000001bf05ea882891c99e5285f38e001f10226380a830168d8070c21b78c",
	"0000000024e0320e4dd6990299f083db2448c9f200223cad8ac23c282fd4c80e",
	"000000002767852b0eaca53a0f91db8202bea171c0d060fca4ae1030fd2a2e7a",
	"000000002875eff18af64f50481bc7576224572da7d63a43e994110b0002f6b7",
	"000000003e888a6a898a59c569ed839d047e5490554b132b2a3fd96bca8a8166",
	"0000000042ecfa3e98251eb56a8c19f6914b8cd275bcd49c1c84f9fc28123207",
	"0000000051c62be84b273ac17bba34426c654464eff7b7563208c4a3a2582fb6",
	"0000000058738ab486ec8da130e394361cb78fb331c5b5adf11798e046d89f08",
	"00000000818f72870b4df1961e8b81daacc00283490758c3ef6741245116e6ad",
	"00000000998bacf9dfc135233f83127a01ad61f5707955f4e0d0d12c80e85f2e",
	"00000000b733604d8afdf8102b7dcf9a29605312c0466f98f5183213c4e1d327",
	"00000000c57350f31fa1b09af55a6ea722867a596b5f5b408c541bfaec38fd8f",
	"00000000c58405f10e5a19f46295f08cb3c9d3e0479ff7ff418b9ad5e2c074d4",
	"00000000c780100a67213a1cf726f57bfd02e4d7e673b24693e40dab1eabc372",
	"00000000d7dbc1e0b99d6940561ddd9b99fa2f51fde82ea343156f90daa0fa0a",
	"00000000f44f6785caca715698bafe9a60895bb6675579b0c33f6b45330a538c",
	"00000017df9acb795a358e8a6c1afde3ac0d3dfd6241441320b9449fdd27534d",
	"00000042d700981477caec92d78861bac49ef72d8d54dbaf6fbc316025563f93",
	"000000a56b177bfc6d3b83c351cb99cba665898c029f7bb628d36bdc9a3053cc",
	"000000ac12f9c538404cc8b44f28e6354f76740d0daf206755f74c5b8bcc660a",
	"000000b2af584901b731c4d2d6207a531ce3f4447c6470de9c0b189fe2cd616e",
	"000000d133f2710bafd4d8b63b81081f629cf34ebcaa70ed44243a014ed85a1a",
	"000000dc6c899e76793bceab54ceb124138ab9fc447f01a3beea3f4dd0549186",
	"000000ebf1b6246ac0f859f4e88544a51b71ca6a8e3573149b34e06903aec338",
	"000000eda13cf4e1b33b8ff3c62b892e6c4e9c05e865173123283984424de827",
	"000000f1dc1476e3921a782d3cd815aec3b7b68723d0b9599fbd99fc9a7057ee",
	"000000ffb042976e52200535299f5a4cc13805949d6c233adf8bf26401403506",
	"0000011e8f0ff3a741a48bcc49acce5680d593cf1c69d39aaf667c1dd2f850a7",
	"00000128fce693d2c3642d9c906def03049600c48252089e5d649e992f9a0542",
	"0000013cf9daed1138f88829117d36ce59e231fde8b724d715af190266b322c8",
	"000001521fd0530e6e67e122bd0454dc1a62f8687539bf3b4adf2e84306a4a6d",
	"0000016617061d62979146812c422a52f381b3fd48e3fbcdc6962d7ef86f73f6",
	"000001664d4736d66c0fcd4241e0166103f7569eed2150f86bc0c7c65c063d80",
	"000001a87ca6db997b56837df35d70fcab3960e7ff0c0385d1aa455931ed55bd",
	"000001c2ddc22637d06ba993b253b05dc94cf4c7d835b961e7741543a584e395",
	"000001c90db53e28c8f012c752591ccb7e755a74c86a655a2900e0bd3a7d0ecc",
	"000001cf28c56059e3b4516eb0c8839b981940df0c9cb3066a5ad0ae5944c4a5",
	"000001e6967e87d4cca6fda912458b3eb51f74409d12be997b8a84f02b20218d",
	"000001f6e130f3291548f8a1164a252f2b229cce2629647e60393ef31e4d483c",
	"000001f78b3e0ca9d36a7354bd9fadea960f89536afc258e62f0fa544204405d",
	"0000020857d6a0d3291bda650f4c8f85c073613641f121da48c2debf26d72884",
	"000002089edd265c5b50d6ceb3eb862c2fffaff269ca4b7a024579cd44ccfe42",
	"0000020a48625f27ce380fde59b5e3dfd4204e31f400b2d5959262dbf47b5dc6",
	"0000020c2ed05a4c23f89fc9de4b8bb6f93d86b798156fbd8e0abf06c8711ac0",
	"00000212fbda0a12653e5298b44a7c3795f51a0eeb379aa660a7a30903c67cc8",
	"000002187a0b41ee345cff15e9c914a84573e3dcdb71b55f3f44ab55e603da92",
	"00000222f01c219470806f8866f97d73a467bd4cfe3af2eee82bddc4f5e80a17",
	"0000023444fb134782db2462a6a0b810ce8b31041de539d0cb3c96b33107af99",
	"0000023464ecb9218d4d21a9397fbf22b49820af65c6b07d1e56fe7cf15baed7",
	"0000023bcf6f92885339c3a8fbb55e2c4f220241de18e6666d217ba04b238cd3",
	"00000241f25d2f75e657b507feba5d6d3819644f257db4bc1054c5f72c83b8a7",
	"00000258411bdb0d128ebfc9b127c039ee4317e0f95e76dda9a9170ea877d25b",
	"00000259b49387008617b5a0f86ecea8e615268e741db774ee34d0fb23857926",
	"0000025a334e8ff3d96f1a209119a2960f61017c29f7f9742618add01df9c82c",
	"000002907cfd7fbad44c098ba2d414b7ab366f9c52d56781c59fb4633a724c00",
	"00000293f88193d7793c8c9259c661969d2261402baadfa3cb48e83aab08ae3b",
	"000002aa2d6dbfc9044c829ec83c9b3e5f07aad875af51b5589410510f2517d7",
	"000002af16219be350b1e278f61043649733d179037be495885f056f798cb526",
	"000002b677ffe2cd16e8d4b28608f4b2eaf918924431cd97ec3eae3659a1f19c",
	"000002c0ab260e7cf4b5a31fbed03c1efbc0b656edb561c6727e1357106a33b8",
	"00000353b3fd1550bbb87329a0058261093970f7974db037f4c6185d43b2bed4",
	"0000037c0f10cca87577100b5f7bc2b8100e62f6facf83ccd29e3f6ba280afcd",
	"0000039f312e0bbd3fe3c02ce94c56d895cc8c87208176a2e7673ebfc72c9e8b",
	"000003a6a42a0fef94fa689f4ea03bbf563a1e82a4626a7d833d85aef0f975f5",
	"000003a8ba8ea4e8fa72762c69923643e2a66a1980ad3d0f25ba279bed48d1a7",
	"000003b7d6d3c005e9a4027a6722a6d923b7ddbe2b7add31888ae280200f3e0d",
	"000003baa91af94d28e7032327324c458cb4016b10e87c6adf4884eaf9598629",
	"000003bb5d47addfa303836320c3fd292daede501a57b010afc4a52c6c216586",
	"000003c16d094663db2528cd37f635ed28095dabde60ca70d01c76e3c8388995",
	"000003c60b7fd804b161d53138b15bc266ea62ba1770ea6733242a9413a15fe5",
	"000003d19ba2638271c5edf5bf1e633e808ca52cb753104ec0254ba09e749d89",
	"000003fb91f0e962e96025903c3c3aaffe51c477f7c1c49e4fd161d7ee501ba1",
	"000004167295adf699bf3bb99a87bbfa20b491779432f8e1e409f11731b355e4",
	"000004351d74e5dfbb9d1010e8fc857b3456ecba38ef3d7b5844435125de364e",
	"0000046901e90282e1ea707bc8b3ba3f57573038e6031d5bb17103f69716137a",
	"0000046e0e8ab1295064861af24dc92ba93fe359dae0995fa8e7674183779f4f",
	"00000479f2fcb4caeb2752909a3ac160681ad923b10f8cf884b798f56916bba8",
	"000004a4b36e1abc71ecd71ca89190ebed895892708577c181a2910a49f08cfa",
	"0000051bacbd74bf190857ffd7c035e54f67488c78e2fb6f9c1c83980ad71bef",
	"0000058e17aa5303e022572b40482dc2661059da4f5be95e7dde22750d1f2ff0",
	"000005cd2a6a49a6994daa2f3d0ba6e0fb881284954b29b57401050f3ca47bdf",
	"000005fd618bf0c520447a5518627abe5f47e90248030d965df48a35207e33fb",
	"0000060426306faf8b1e772bc9968d610fbc6684435d2de996621f958b97d64a",
	"000006b56ac7e1ea911210f7eb4db397a61bb0d5a8580821fdaa1abb7602de9c",
	"00000713e01f81308ed02309d4bbb6a36664ff3f10f587a6879ec753c7802e23",
	"000007683cd8d775d309e07308f7c9125e621cebb72aeb8ec1d710e0810157ea",
	"00000914c20126cf00fffb71d0af7a03cf17ddda69ecc5bd68abc127090c95d3",
	"00000b310fdcf52c9195422d2fcf49ae3de214501261b29a985d8e64bed64fea",
	"00000bd6e23c43367ef5d7bb1e2f0ef4ed9256fa9c5f4f2c737a479f264cf8a0",
	"00000cf6bc737c42ecc7f2fcf92ea4dc92e59404b93b3fa3e1e0648cafb3f4ad",
	"00000ddd6cc76f17a982e506a64f1edb75b89a576ef7b595c11b78d1ef2d68b7",
	"00000e16526da07de7d14bd87155887624069bc67244098fab4f05589f0c5723",
	"00000ea977c8193be1f7abb703e12867e6cf981567699954b8bf7cd1f33094f1",
	"000010c880b068126f3b9d33c4705bcf91a15f80c8c0ee519b232b51ea5697aa",
	"000010fdf4a3e2f60a376180bbb473a280e88d184c13af0aabf6867c07f436af",
	"000016eaffd25d3335523b15bd18ca707b5503a00fed1c39857b20e3227edaf0",
	"00001714c55b80d90489005c3edd8de1779a8b9e2aaf9c56592e5922a8de8ae1",
	"00001958f73bfdbe2cba49a2d6b5221d8046f5326bff67eb37efed70eb103cee",
	"000019a02ba2f7f15cf4abb885f909400e9be7526c033b8ef475fa2dfebf57e3",
	"00001a20cd1ce1b3a021d3a3224dc5c18550b7981508bd446f03a5762724a9e1",
	"00001a40d2ac32d5f39d51680538a72570c9d263eb3ea364cefab7b9906a0e90",
	"00001bd841e1373f711d44a83584125db5cb4844d7086d7981ea91ea78d01183",
	"00001c9fc462dccec2830b0fc87a6d740d03ef92133570d492c558de1d6156bf",
	"00001d1830d70992ff544914fb8fea3d71b8a686e9b466450f6800a2383394f5",
	"000024051364ef7173995581740f448125fb8a215f97065b73cb3fadbcdb885a",
	"000024453eb58e2f0ace673df99ee9b53825a078255dcd0971ea8c4cefa782ff",
	"0000291f0dff2025dd5ade362cc7b8a991a631821e87bdf7b732b5bfedd55507",
	"0000294369e45c257715c5bac9f8e714e97413cbcfd58d2fd26cef6fe39aba64",
	"00002a147679a0cb6d2a3d33fb5d44418bdef1af0bc7630291bac709f41d8567",
	"00002c3d04975c2a1166e115e93cf8d63df5900adf7105cc70ab7a13e8baadca",
	"00002d82c41a430f89cf4e7d4c524143e57e93ee4c73c16daacdab7d79d28e48",
	"00002d9b1ec90c02749c9acceca9e919d523237cef864ec29ab334777b80c226",
	"00002fec62ae183501b05a9c272c7534bf96c78e9a8d237215121cd56ec5cab2",
	"0000302581088e4717d680662c4a9ae07d8e0727f040ec127953c371ea32ea77",
	"0000336ff31ea3e1717c0b02619bc2d09ead38089f298bef179f4b6715eae1f6",
	"000035d96f815ee188b740b4b351279e13d99a89e227393b3f25074d59fbcb8c",
	"00003de89f0752a6a8cd127250c624ff431975c559934ee532c76dcd899c2e66",
	"00003e5372eb70089919c4a6ef7c54e4618c7ac59e16b76b8b5b5e448717ff9a",
	"00003f99d7f877d384b0de992d7e2a8d8aaae685fd25f1819b4ee25c9b913d03",
	"000040db8e91bcdc1e65bc868e904345396a0bc4eb084694a72dbcc485555d80",
	"00004305882eb3eef6b45f025ff58eb7baa5ca35f7d6f42c8b085482b00474e6",
	"000045ecbab77c9a8d819ff6d26893b9da2774eee5539f17d8fc2394f82b758e",
};
static const char *const india_soft_voided[] = {
	"00000000e03c4aa950f87cb2c0317f0e5fbd58561ad9a30916126426dcd5f283",
	"000002681b995cb043583f5a747c185d4db7b1ee6621ad75fc155c9e8ac12846",
	"00000f69311fc345b9a8919282ef85da5adfaf10690568ed3fbc290de218a056",
	"00000eea02e10b227ce1635a73714c4bcca207605d3d38fd44d0e8a26f4dc3f5",
	"00000f5bda0cbfa1fbc05b021c7b7be8423bdc1663e83cef02c9db7dc9e2a664",
	"0000065da27407862eb0fc5befc0611ce0b41120c3ef2b55ff51a71ec989028d",
	"00000c14a7f11318bc362b58ad018e01f56f8c63def4e6bcda0555f6cef2ebc3",
};
static const char *const india_skip_verification[] = {
	"00000000e03c4aa950f87cb2c0317f0e5fbd58561ad9a30916126426dcd5f283",
	"000002681b995cb043583f5a747c185d4db7b1ee6621ad75fc155c9e8ac12846",
	"00000f69311fc345b9a8919282ef85da5adfaf10690568ed3fbc290de218a056",
	"00000eea02e10b227ce1635a73714c4bcca207605d3d38fd44d0e8a26f4dc3f5",
	"00000f5bda0cbfa1fbc05b021c7b7be8423bdc1663e83cef02c9db7dc9e2a664",
	"0000065da27407862eb0fc5befc0611ce0b41120c3ef2b55ff51a71ec989028d",
	"00000c14a7f11318bc362b58ad018e01f56f8c63def4e6bcda0555f6cef2ebc3",
};

enum net_id {
	NET_MAINNET,
	NET_INDIA,
	NET_GOLF,
	NET_HOTEL,
	NET_UNITTESTS,
	NET_NANO_BRAVO,
	NET_PRIVATENET,
	NET_COUNT
};

/* Canonical names, in enum net_id order, NULL-terminated. */
static const char *const net_names[NET_COUNT + 1] = {
	"mainnet",
	"testnet-india",
	"testnet-golf",
	"testnet-hotel",
	"unittests",
	"nano-testnet-bravo",
	"privatenet",
	NULL,
};

static const struct {
	const char *alias;              /* accepted name */
	enum net_id id;                 /* network it stands for */
} net_aliases[] = {
	{ "testnet", NET_INDIA },
	{ "nano-testnet", NET_NANO_BRAVO },
	{ "localnet", NET_PRIVATENET },
};

/* Published genesis hashes (GENESIS_{BLOCK,TX1,TX2}_HASH) and genesis
 * nonces/timestamp, in enum net_id order. */
static const struct genesis_def {
	uint32_t block_timestamp;       /* GENESIS_BLOCK_TIMESTAMP */
	uint64_t block_nonce;           /* GENESIS_BLOCK_NONCE */
	uint32_t tx1_nonce;             /* GENESIS_TX1_NONCE */
	uint32_t tx2_nonce;             /* GENESIS_TX2_NONCE */
	const char *script;             /* GENESIS_OUTPUT_SCRIPT */
	const char *block_hash;
	const char *tx1_hash;
	const char *tx2_hash;
} genesis_defs[NET_COUNT] = {
	[NET_MAINNET] = {
		1578075305, 2591358, 7715, 3769,
		"76a9147fd4ae0e4fb2d2854e76d359029d8078bb99649e88ac",
		"000006cb93385b8b87a545a1cbb6197e6caff600c12cc12fc54250d39c8088fc",
		"0002d4d2a15def7604688e1878ab681142a7b155cbe52a6b4e031250ae96db0a",
		"0002ad8d1519daaddc8e1a37b14aac0b045129c01832281fb1c02d873c7abbf9",
	},
	[NET_INDIA] = {
		1759950000, 1791023, 844, 111,
		"76a914a584cf48b161e4a49223ed220df30037ab740e0088ac",
		"000001b7d5abc44d3828529654e8d830eeca1cd0e313032be1b8e9dfe31052ee",
		"00768e4df506979bb14e0efc16748d9306fa176de54e86069d115e74b26957df",
		"00306abcedddfa21707e7920fe324a997e3a311a959a18724c7e8cfd0468c164",
	},
	[NET_GOLF] = {
		1577836800, 826272, 190, 115,
		"76a914a584cf48b161e4a49223ed220df30037ab740e0088ac",
		"0000033139d08176d1051fb3a272c3610457f0c7f686afbe0afe3d37f966db85",
		"00e161a6b0bee1781ea9300680913fb76fd0fac4acab527cd9626cc1514abdc9",
		"00975897028ceb037307327c953f5e7ad4d3f42402d71bd3d11ecb63ac39f01a",
	},
	[NET_HOTEL] = {
		1577836800, 826272, 190, 115,
		"76a914a584cf48b161e4a49223ed220df30037ab740e0088ac",
		"0000033139d08176d1051fb3a272c3610457f0c7f686afbe0afe3d37f966db85",
		"00e161a6b0bee1781ea9300680913fb76fd0fac4acab527cd9626cc1514abdc9",
		"00975897028ceb037307327c953f5e7ad4d3f42402d71bd3d11ecb63ac39f01a",
	},
	[NET_UNITTESTS] = {
		/* GENESIS_BLOCK_TIMESTAMP is not set: settings.py default. */
		1572636343, 5, 6, 2,
		"76a914d07bc82d6e0d1bb116614076645e9b87c8c83b4188ac",
		"2ebb3b8edcb72a7e46cc0efacfe1b109e2e9dd868a90fe0906968dc8fbbf6488",
		"16ba3dbe424c443e571b00840ca54b9ff4cff467e10b6a15536e718e2008f952",
		"33e14cb555a96967841dcbe0f95e9eab5810481d01de8f4f73afb8cce365e869",
	},
	[NET_NANO_BRAVO] = {
		1750978888, 896384, 16, 154,
		"76a91478e804bf8aa68332c6c1ada274ac598178b972bf88ac",
		"000003076f294c2c93d8cc48f68b6c93087361ca78c54faa91daaffde84ba916",
		"001c9a3e8810bc3389b0fd3cfb118e9190f95bd5bf313a9575a4663d0a80af2d",
		"002fecfce5e78047f9b967a27b1b2436c3fea17e24c770d59421bacdcadda0ea",
	},
	[NET_PRIVATENET] = {
		1643902665, 4784939, 0, 0,
		"76a91466665b27f7dbc4c8c089d2f686c170c74d66f0b588ac",
		"00000334a21fbb58b4db8d7ff282d018e03e2977abd3004cf378fb1d677c3967",
		"54165cef1fd4cf2240d702b8383c307c822c16ca407f78014bdefa189a7571c2",
		"039906854ce6309b3180945f2a23deb9edff369753f7082e19053f5ac11bfbae",
	},
};

static const char *const mainnet_dns[] = { "mainnet.hathor.network" };
static const char *const india_dns[] = { "india.testnet.hathor.network" };
static const char *const golf_dns[] = { "golf.testnet.hathor.network" };
static const char *const hotel_dns[] = { "hotel.testnet.hathor.network" };
static const char *const bravo_dns[] = { "bravo.nano-testnet.hathor.network" };

/* Decoded tables (filled once by init_all). */
static struct hn_checkpoint mainnet_cp[ARRAY_LEN(mainnet_checkpoints)];
static struct hn_checkpoint golf_cp[ARRAY_LEN(golf_checkpoints)];
static uint8_t mainnet_sv[ARRAY_LEN(mainnet_soft_voided)][32];
static uint8_t india_sv[ARRAY_LEN(india_soft_voided)][32];
static uint8_t india_skip[ARRAY_LEN(india_skip_verification)][32];

static struct hn_network nets[NET_COUNT];
static bool net_ok[NET_COUNT];
static pthread_once_t nets_once = PTHREAD_ONCE_INIT;

/* hathorlib settings.py defaults (HathorSettings field defaults). */
static void set_defaults(struct hn_network *n)
{
	n->consensus = HN_CONSENSUS_POW;
	n->genesis_token_units = 100000000000ULL; /* 10^9 HTR x 10^2 */

	n->min_block_weight = 21;
	n->min_share_weight = 21;
	n->min_tx_weight = 14;
	n->min_tx_weight_coefficient = 1.6;
	n->min_tx_weight_k = 100;
	n->max_tx_weight_diff = 4.0;
	n->max_tx_weight_diff_activation = 32.0;
	n->weight_tol = 1e-10;

	n->avg_time_between_blocks = 30;
	n->reduced_avg_time_between_blocks_10x = 75;
	n->block_difficulty_n_blocks = 134;
	n->max_distance_between_blocks = 150 * 30;
	n->weight_decay_enabled = true;
	n->weight_decay_activate_distance = 120 * 30;
	n->weight_decay_window_size = 60;
	n->weight_decay_amount = 2.73;

	n->initial_token_units_per_block = 64 * 100;
	n->minimum_token_units_per_block = 8 * 100;
	n->blocks_per_halving = 2 * 60 * 24 * 365;
	n->reward_spend_min_blocks = 300;
	n->decimal_places = 2;

	n->max_future_timestamp_allowed = 5 * 60;

	n->token_deposit_percentage_numerator = 10000000ULL;
	n->token_deposit_percentage_denominator = 1000000000ULL;
	n->max_length_token_name = 30;
	n->max_length_token_symbol = 5;
	n->fee_per_output_v1 = 1;

	n->max_serialized_vertex_size = 48000;
	n->block_data_max_size = 100;
	n->max_num_inputs = 255;
	n->max_num_outputs = 255;
	n->max_output_script_size = 1024;
	n->max_input_data_size = 1024;
	n->pushtx_max_output_script_size = 256;
	n->max_tx_sigops_input = 255 * 5;
	n->max_tx_sigops_output = 255 * 5;
	n->max_multisig_pubkeys = 20;
	n->max_multisig_signatures = 15;
	n->max_data_script_outputs = 25;
	n->old_max_merkle_path_length = 12;
	n->new_max_merkle_path_length = 20;

	n->enable_nano_contracts = HN_FEATURE_DISABLED;
	n->enable_fee_based_tokens = HN_FEATURE_DISABLED;
	n->enable_opcodes_v2 = HN_FEATURE_DISABLED;
	n->enable_daa_v2 = HN_FEATURE_DISABLED;
	n->restrict_dup_actions = HN_FEATURE_DISABLED;
	n->enable_shielded_transactions = false;
	/* feature_activation/settings.py */
	n->feature_evaluation_interval = 20160;
	n->feature_default_threshold = 18144;
	n->feature_max_signal_bits = 4;

	n->enable_peer_whitelist = false;
	n->whitelist_url = NULL;
	n->default_p2p_port = 40403;
}

/* Every feature of @n follows the feature-activation process. */
static void set_all_features_activation(struct hn_network *n)
{
	n->enable_nano_contracts = HN_FEATURE_ACTIVATION;
	n->enable_fee_based_tokens = HN_FEATURE_ACTIVATION;
	n->enable_opcodes_v2 = HN_FEATURE_ACTIVATION;
	n->enable_daa_v2 = HN_FEATURE_ACTIVATION;
	n->restrict_dup_actions = HN_FEATURE_ACTIVATION;
}

/* Testnet tx weight: "with these settings tx weight is always 8". */
static void set_fixed_tx_weight(struct hn_network *n, double w)
{
	n->min_tx_weight = w;
	n->min_tx_weight_coefficient = 0;
	n->min_tx_weight_k = 0;
}

static void setup_mainnet(struct hn_network *n)
{
	n->p2pkh_version_byte = 0x28;
	n->multisig_version_byte = 0x64;
	n->enable_peer_whitelist = true;
	n->whitelist_url =
		"https://hathor-public-files.s3.amazonaws.com/whitelist_peer_ids";
	n->max_tx_weight_diff = 1.0;
	n->max_tx_weight_diff_activation = 35.0;
	set_all_features_activation(n);
	n->n_features = ARRAY_LEN(mainnet_features);
	n->features = mainnet_features;
	n->n_checkpoints = ARRAY_LEN(mainnet_cp);
	n->checkpoints = mainnet_cp;
	n->n_bootstrap_dns = ARRAY_LEN(mainnet_dns);
	n->bootstrap_dns = mainnet_dns;
	n->n_soft_voided_tx_ids = ARRAY_LEN(mainnet_sv);
	n->soft_voided_tx_ids = (const uint8_t(*)[32])mainnet_sv;
}

/* testnet.yml (india); also the base of localnet.yml. */
static void setup_india(struct hn_network *n)
{
	n->p2pkh_version_byte = 0x49;
	n->multisig_version_byte = 0x87;
	set_fixed_tx_weight(n, 8);
	n->feature_evaluation_interval = 240;
	n->feature_default_threshold = 180;
	set_all_features_activation(n);
	n->n_features = ARRAY_LEN(india_features);
	n->features = india_features;
	n->n_bootstrap_dns = ARRAY_LEN(india_dns);
	n->bootstrap_dns = india_dns;
	n->n_soft_voided_tx_ids = ARRAY_LEN(india_sv);
	n->soft_voided_tx_ids = (const uint8_t(*)[32])india_sv;
	n->n_skip_verification = ARRAY_LEN(india_skip);
	n->skip_verification = (const uint8_t(*)[32])india_skip;
}

/* Golf and hotel share genesis, checkpoints and features. */
static void setup_golf(struct hn_network *n)
{
	n->p2pkh_version_byte = 0x49;
	n->multisig_version_byte = 0x87;
	set_fixed_tx_weight(n, 8);
	n->feature_default_threshold = 15120;
	n->n_features = ARRAY_LEN(golf_features);
	n->features = golf_features;
	n->n_checkpoints = ARRAY_LEN(golf_cp);
	n->checkpoints = golf_cp;
	n->n_bootstrap_dns = ARRAY_LEN(golf_dns);
	n->bootstrap_dns = golf_dns;
}

static void setup_hotel(struct hn_network *n)
{
	setup_golf(n);
	n->n_bootstrap_dns = ARRAY_LEN(hotel_dns);
	n->bootstrap_dns = hotel_dns;
}

static void setup_unittests(struct hn_network *n)
{
	n->p2pkh_version_byte = 0x28;
	n->multisig_version_byte = 0x64;
	n->blocks_per_halving = 120;
	n->min_block_weight = 2;
	n->min_tx_weight = 2;
	n->min_share_weight = 2;
	n->max_tx_weight_diff = 25.0;
	n->block_difficulty_n_blocks = 20;
	n->reward_spend_min_blocks = 10;
	n->max_tx_weight_diff_activation = 0.0;
	n->feature_evaluation_interval = 4;
	n->feature_max_signal_bits = 4;
	n->feature_default_threshold = 3;
	n->enable_nano_contracts = HN_FEATURE_ENABLED;
	n->enable_fee_based_tokens = HN_FEATURE_ENABLED;
	n->enable_shielded_transactions = false;
}

static void setup_nano_bravo(struct hn_network *n)
{
	n->p2pkh_version_byte = 0x49;
	n->multisig_version_byte = 0x87;
	set_fixed_tx_weight(n, 8);
	n->enable_nano_contracts = HN_FEATURE_ENABLED;
	n->n_bootstrap_dns = ARRAY_LEN(bravo_dns);
	n->bootstrap_dns = bravo_dns;
}

/* localnet.yml: extends testnet.yml (deep merge), then overrides. */
static void setup_privatenet(struct hn_network *n)
{
	setup_india(n);
	n->n_bootstrap_dns = 0;
	n->bootstrap_dns = NULL;
	set_fixed_tx_weight(n, 1);
	n->reward_spend_min_blocks = 1;
	n->n_checkpoints = 0;
	n->checkpoints = NULL;
	n->enable_nano_contracts = HN_FEATURE_ENABLED;
}

static void (*const net_setup[NET_COUNT])(struct hn_network *) = {
	[NET_MAINNET] = setup_mainnet,
	[NET_INDIA] = setup_india,
	[NET_GOLF] = setup_golf,
	[NET_HOTEL] = setup_hotel,
	[NET_UNITTESTS] = setup_unittests,
	[NET_NANO_BRAVO] = setup_nano_bravo,
	[NET_PRIVATENET] = setup_privatenet,
};

static int decode_hashes(const char *const *hex, size_t n, uint8_t (*out)[32])
{
	for (size_t i = 0; i < n; i++)
		if (hn_hex_to_hash(hex[i], out[i]) < 0)
			return HN_EPARSE;
	return 0;
}

static int decode_checkpoints(const struct hex_checkpoint *hex, size_t n,
			      struct hn_checkpoint *out)
{
	for (size_t i = 0; i < n; i++) {
		out[i].height = hex[i].height;
		if (hn_hex_to_hash(hex[i].hash, out[i].hash) < 0)
			return HN_EPARSE;
		if (i > 0 && out[i].height <= out[i - 1].height)
			return HN_EINVAL;
	}
	return 0;
}

/* Encodes @v into @g and checks its hash against @expect_hex. */
static int finish_genesis(const char *net, const char *what,
			  struct hn_vertex *v, const char *expect_hex,
			  struct hn_genesis_vertex *g)
{
	uint8_t expect[32], *buf = NULL;
	char got[65];
	size_t len;
	int rc;

	if ((rc = hn_vertex_update_hash(v)) < 0 ||
	    (rc = hn_vertex_encode(v, &buf, &len)) < 0) {
		hn_err("network", "cannot encode genesis %s of '%s': %s", what,
		       net, hn_strerror(rc));
		return rc;
	}
	if (len > sizeof(g->bytes)) {
		hn_err("network", "genesis %s of '%s' is %zu bytes", what, net,
		       len);
		free(buf);
		return HN_ERANGE;
	}
	memcpy(g->bytes, buf, len);
	g->len = len;
	free(buf);
	memcpy(g->hash, v->hash, 32);
	if (hn_hex_to_hash(expect_hex, expect) < 0)
		return HN_EPARSE;
	if (memcmp(expect, g->hash, 32)) {
		hn_hex_encode(g->hash, 32, got);
		hn_err("network",
		       "genesis %s of '%s' hashes to %s, published %s", what,
		       net, got, expect_hex);
		return HN_ECONSENSUS;
	}
	return 0;
}

/* _construct_genesis_block: v0, no parents, one output of
 * GENESIS_TOKEN_ATOMIC_UNITS to GENESIS_OUTPUT_SCRIPT, empty data. */
static int build_genesis_block(struct hn_network *n, const struct genesis_def *d)
{
	struct hn_vertex *v;
	uint8_t script[64];
	size_t script_len;
	int rc;

	if (hn_hex_decode(d->script, script, sizeof(script), &script_len) < 0)
		return HN_EPARSE;
	if (!(v = hn_vertex_new()))
		return HN_ENOMEM;
	v->version = HN_VTX_BLOCK;
	v->weight = n->genesis_block.weight;
	v->timestamp = n->genesis_block.timestamp;
	v->nonce_hi = 0;
	v->nonce_lo = n->genesis_block.nonce;
	if (!(v->outputs = calloc(1, sizeof(*v->outputs))) ||
	    !(v->outputs[0].script = malloc(script_len))) {
		hn_vertex_free(v);
		return HN_ENOMEM;
	}
	v->n_outputs = 1;
	v->outputs[0].value = n->genesis_token_units;
	v->outputs[0].token_data = 0;
	v->outputs[0].script_len = (uint16_t)script_len;
	memcpy(v->outputs[0].script, script, script_len);
	rc = finish_genesis(n->name, "block", v, d->block_hash,
			    &n->genesis_block);
	hn_vertex_free(v);
	return rc;
}

/* _construct_genesis_tx1/_tx2: v1 with nothing but weight, timestamp and
 * the 4-byte nonce. */
static int build_genesis_tx(struct hn_network *n, const char *what,
			    struct hn_genesis_vertex *g, const char *hash_hex)
{
	struct hn_vertex *v;
	int rc;

	if (!(v = hn_vertex_new()))
		return HN_ENOMEM;
	v->version = HN_VTX_TX;
	v->weight = g->weight;
	v->timestamp = g->timestamp;
	v->nonce_lo = g->nonce;
	rc = finish_genesis(n->name, what, v, hash_hex, g);
	hn_vertex_free(v);
	return rc;
}

static int build_network(enum net_id id)
{
	struct hn_network *n = &nets[id];
	const struct genesis_def *d = &genesis_defs[id];
	uint8_t cat[96], digest[32];
	char hex[65];
	int rc;

	set_defaults(n);
	net_setup[id](n);
	n->name = net_names[id];
	n->p2p_network = net_names[id];
	n->genesis_output_script_hex = d->script;

	n->genesis_block.timestamp = d->block_timestamp;
	n->genesis_block.nonce = d->block_nonce;
	n->genesis_block.weight = n->min_block_weight;
	n->genesis_tx1.timestamp = d->block_timestamp + 1;
	n->genesis_tx1.nonce = d->tx1_nonce;
	n->genesis_tx1.weight = n->min_tx_weight;
	n->genesis_tx2.timestamp = d->block_timestamp + 2;
	n->genesis_tx2.nonce = d->tx2_nonce;
	n->genesis_tx2.weight = n->min_tx_weight;

	if ((rc = build_genesis_block(n, d)) < 0 ||
	    (rc = build_genesis_tx(n, "tx1", &n->genesis_tx1, d->tx1_hash)) < 0 ||
	    (rc = build_genesis_tx(n, "tx2", &n->genesis_tx2, d->tx2_hash)) < 0)
		return rc;

	/* get_representation_for_all_genesis(): sha256 over the three
	 * hashes, of which HELLO carries the first 7 hex digits. */
	memcpy(cat, n->genesis_block.hash, 32);
	memcpy(cat + 32, n->genesis_tx1.hash, 32);
	memcpy(cat + 64, n->genesis_tx2.hash, 32);
	hn_sha256(cat, sizeof(cat), digest);
	hn_hex_encode(digest, 4, hex);
	memcpy(n->genesis_short_hash, hex, 7);
	n->genesis_short_hash[7] = '\0';
	return 0;
}

static void init_all(void)
{
	bool tables_ok =
		decode_checkpoints(mainnet_checkpoints,
				   ARRAY_LEN(mainnet_checkpoints),
				   mainnet_cp) == 0 &&
		decode_checkpoints(golf_checkpoints,
				   ARRAY_LEN(golf_checkpoints), golf_cp) == 0 &&
		decode_hashes(mainnet_soft_voided,
			      ARRAY_LEN(mainnet_soft_voided), mainnet_sv) == 0 &&
		decode_hashes(india_soft_voided, ARRAY_LEN(india_soft_voided),
			      india_sv) == 0 &&
		decode_hashes(india_skip_verification,
			      ARRAY_LEN(india_skip_verification),
			      india_skip) == 0;

	if (!tables_ok) {
		hn_err("network", "bad hash in the built-in network tables");
		return;
	}
	for (int id = 0; id < NET_COUNT; id++)
		net_ok[id] = build_network((enum net_id)id) == 0;
}

const struct hn_network *hn_network_by_name(const char *name)
{
	int id = -1;

	if (!name)
		return NULL;
	for (int i = 0; i < NET_COUNT; i++)
		if (!strcmp(name, net_names[i]))
			id = i;
	for (size_t i = 0; id < 0 && i < ARRAY_LEN(net_aliases); i++)
		if (!strcmp(name, net_aliases[i].alias))
			id = (int)net_aliases[i].id;
	if (id < 0)
		return NULL;
	pthread_once(&nets_once, init_all);
	return net_ok[id] ? &nets[id] : NULL;
}

const char *const *hn_network_names(void)
{
	return net_names;
}

bool hn_network_is_genesis(const struct hn_network *net, const uint8_t hash[32])
{
	if (!net || !hash)
		return false;
	return !memcmp(hash, net->genesis_block.hash, 32) ||
	       !memcmp(hash, net->genesis_tx1.hash, 32) ||
	       !memcmp(hash, net->genesis_tx2.hash, 32);
}

static bool in_list(const uint8_t (*list)[32], size_t n, const uint8_t *hash)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(list[i], hash, 32))
			return true;
	return false;
}

bool hn_network_is_soft_voided(const struct hn_network *net,
			       const uint8_t hash[32])
{
	return net && hash &&
	       in_list(net->soft_voided_tx_ids, net->n_soft_voided_tx_ids, hash);
}

bool hn_network_skips_verification(const struct hn_network *net,
				   const uint8_t hash[32])
{
	return net && hash &&
	       in_list(net->skip_verification, net->n_skip_verification, hash);
}
