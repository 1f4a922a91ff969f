package kmsperm_test

// Key policies and IAM policies shaped after the examples of the AWS KMS
// Developer Guide and the Amazon S3 User Guide. Each constant names the page
// its example comes from; the account IDs, key ID and names are the guides'
// placeholders.

const (
	acctA   = "111122223333" // owns the key and the bucket
	acctB   = "444455556666" // an external account
	keyID   = "1234abcd-12ab-34cd-56ef-1234567890ab"
	keyARN  = "arn:aws:kms:us-east-1:" + acctA + ":key/" + keyID
	region  = "us-east-1"
	bucket  = "amzn-s3-demo-bucket"
	objKey  = "reports/q1.csv"
	alice   = "arn:aws:iam::" + acctA + ":user/Alice"
	role    = "arn:aws:iam::" + acctA + ":role/ExampleRole"
	session = "arn:aws:sts::" + acctA + ":assumed-role/ExampleRole/upload"
	admin   = "arn:aws:iam::" + acctA + ":role/KMSAdminRole"
	bob     = "arn:aws:iam::" + acctB + ":user/Bob"
	rootA   = "arn:aws:iam::" + acctA + ":root"

	srcKeyARN = "arn:aws:kms:us-east-1:" + acctB + ":key/0987dcba-09fe-87dc-65ba-ab0987654321"
)

// Page URLs.
const (
	pageDefault    = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html"
	pageKeyPol     = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html"
	pageExternal   = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html"
	pageViewing    = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-viewing.html"
	pageModifying  = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying.html"
	pageConditions = "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html"
	pageIAM        = "https://docs.aws.amazon.com/kms/latest/developerguide/iam-policies.html"
	pageIAMExample = "https://docs.aws.amazon.com/kms/latest/developerguide/customer-managed-policies.html"
	pageServices   = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-services.html"
	pageGlobal     = "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-aws.html"
	pageControl    = "https://docs.aws.amazon.com/kms/latest/developerguide/control-access.html"
	pageS3KMS      = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"
	pageBucketKey  = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html"
	pageMPU        = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions"
	pageComplete   = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html"
	pageListParts  = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html"
	pageCopy       = "https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html"
	pageSDKJS1814  = "https://github.com/aws/aws-sdk-js/issues/1814"
)

// kpProgrammatic is the default key policy of a key created through the API:
// the account root may use IAM policies to allow every KMS operation
// (pageDefault, "Allows access to the AWS account and enables IAM policies").
const kpProgrammatic = `{
  "Version": "2012-10-17",
  "Id": "key-default-1",
  "Statement": [{
    "Sid": "Enable IAM User Permissions",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
    "Action": "kms:*",
    "Resource": "*"
  }]
}`

// kpConsole is the console's default key policy: the root statement, key
// administrators, key users, and the statement that lets key users attach
// grants for AWS resources (pageDefault).
const kpConsole = `{
  "Version": "2012-10-17",
  "Id": "key-consolepolicy-3",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:role/KMSAdminRole"},
     "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
                "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand"],
     "Resource": "*"},
    {"Sid": "Allow use of the key", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:role/ExampleRole"},
     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
     "Resource": "*"},
    {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:role/ExampleRole"},
     "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
     "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}
  ]
}`

// kpUsersOnly has key users but no root statement, so IAM policies cannot
// allow anything (pageKeyPol: "Without permission from the key policy, IAM
// policies that allow permissions have no effect").
const kpUsersOnly = `{
  "Version": "2012-10-17",
  "Statement": [{
    "Sid": "Allow use of the key", "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::111122223333:role/ExampleRole"},
    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
    "Resource": "*"
  }]
}`

// kpExternalAccount gives an external account the key user permissions
// (pageExternal, "Allow an external account to use the KMS key").
const kpExternalAccount = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Allow an external account to use this KMS key", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
     "Resource": "*"}
  ]
}`

// kpExternalUser names a user of the external account directly (pageExternal).
const kpExternalUser = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Allow Bob to use this KMS key", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::444455556666:user/Bob"},
     "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}
  ]
}`

// viaPolicy allows ExampleRole only through the listed services
// (pageConditions, kms:ViaService).
func viaPolicy(services string) string {
	return `{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::111122223333:role/ExampleRole"},
    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:ListGrants", "kms:DescribeKey"],
    "Resource": "*",
    "Condition": {"StringEquals": {"kms:ViaService": ` + services + `}}
  }]
}`
}

// kpDenyUnlessS3 enables IAM policies and denies decryption that does not
// come through S3 in us-east-1 (pageConditions: a Deny with
// StringNotEquals kms:ViaService).
const kpDenyUnlessS3 = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Deny use outside S3", "Effect": "Deny", "Principal": "*",
     "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
     "Condition": {"StringNotEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}
  ]
}`

// kpDenyViaS3 denies decryption through S3 (pageConditions, a Deny with
// StringEquals kms:ViaService).
const kpDenyViaS3 = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "No S3 decryption", "Effect": "Deny", "Principal": "*",
     "Action": "kms:Decrypt", "Resource": "*",
     "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}
  ]
}`

// kpCallerAccount allows every principal of the account through S3, as an
// AWS managed key's policy does (pageConditions, kms:CallerAccount).
const kpCallerAccount = `{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": "*"},
    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
    "Resource": "*",
    "Condition": {"StringEquals": {"kms:CallerAccount": "111122223333", "kms:ViaService": "s3.us-east-1.amazonaws.com"}}
  }]
}`

// ctxPolicy allows Alice with one condition on the encryption context
// (pageConditions, kms:EncryptionContext:context-key; pageS3KMS, the
// aws:s3:arn context).
func ctxPolicy(op, key, value string) string {
	return `{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"},
    "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
    "Condition": {"` + op + `": {"` + key + `": ` + value + `}}
  }]
}`
}

// kpDenyAlice allows the account and explicitly denies Alice decryption
// (pageControl: no permission unless allowed "and never denied").
const kpDenyAlice = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Deny Alice", "Effect": "Deny",
     "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"}, "Action": "kms:Decrypt", "Resource": "*"}
  ]
}`

// aliceOnly allows Alice exactly the listed actions directly.
func aliceOnly(actions string) string {
	return `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"}, "Action": ` + actions + `, "Resource": "*"}]}`
}

// Identity policies.
const (
	// idKeyUse allows using one key (pageIAMExample, "Allow a user to
	// encrypt and decrypt with specific KMS keys").
	idKeyUse = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
  "Resource": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}]}`
	// idAccountKeys allows every key of account A (pageIAMExample, "with
	// any KMS key in a specific AWS account").
	idAccountKeys = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
  "Resource": "arn:aws:kms:*:111122223333:key/*"}]}`
	// idResourceAccount allows KMS on keys of account A only, with the
	// global aws:ResourceAccount condition key (pageGlobal).
	idResourceAccount = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*",
  "Condition": {"StringEquals": {"aws:ResourceAccount": "111122223333"}}}]}`
	// idKMSAll allows every KMS action on every key.
	idKMSAll = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}`
	// idDenyDecrypt denies decryption everywhere (pageKeyPol: an IAM
	// policy can deny without the key policy's permission).
	idDenyDecrypt = `{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
  {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}]}`
	// idPrincipalTag allows KMS only to principals tagged team=storage;
	// kmsperm does not know the caller's tags (pageIAM).
	idPrincipalTag = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*",
  "Condition": {"StringEquals": {"aws:PrincipalTag/team": "storage"}}}]}`
	// idSourceIP denies KMS outside a network (pageIAM). When S3 calls KMS
	// for the caller the request does not come from the caller's network,
	// so the Deny applies.
	idSourceIP = `{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
  {"Effect": "Deny", "Action": "kms:*", "Resource": "*",
   "Condition": {"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}}}]}`
	// idSourceKey allows decrypting with the copy source's key in account B.
	idSourceKey = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt",
  "Resource": "arn:aws:kms:us-east-1:444455556666:key/0987dcba-09fe-87dc-65ba-ab0987654321"}]}`
)

// kpSourceExternal is the copy source key's policy in account B, allowing
// account A (pageExternal).
const kpSourceExternal = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Allow account A to decrypt", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:Decrypt", "Resource": "*"}
  ]
}`
