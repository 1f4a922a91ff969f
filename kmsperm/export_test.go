package kmsperm

// Internals the external tests check directly.
var (
	RequestContext     = requestContext
	ViaService         = viaService
	KeyPolicyStatement = keyPolicyStatement
	IdentityStatement  = identityStatement
)

// ActionDecrypt is kms:Decrypt, for the external tests.
const ActionDecrypt = actionDecrypt
