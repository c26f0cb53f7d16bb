//! Stripe: Checkout Sessions for buying a print, refunds for the admin, and session look-ups for
//! reconciliation, through async-stripe. The webhook that moves orders lives in `webhook`.

pub mod webhook;

use std::collections::HashMap;

use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionAllowedPaymentMethodTypes, CreateCheckoutSessionLineItems,
    CreateCheckoutSessionLineItemsPriceData, CreateCheckoutSessionPaymentIntentData,
    CreateCheckoutSessionShippingAddressCollection, CreateCheckoutSessionShippingAddressCollectionAllowedCountries,
    ExpireCheckoutSession, ProductData, RetrieveCheckoutSession,
};
use stripe_core::refund::CreateRefund;
use stripe_shared::{CheckoutSession, CheckoutSessionMode};

use crate::pricing::{PrintOptions, CURRENCY};
use crate::server::config::Config;
use crate::server::error::{ServerError, ServerResult};

/// Countries we ship to.
const SHIPPING_COUNTRIES: [CreateCheckoutSessionShippingAddressCollectionAllowedCountries; 4] = [
    CreateCheckoutSessionShippingAddressCollectionAllowedCountries::Cn,
    CreateCheckoutSessionShippingAddressCollectionAllowedCountries::Hk,
    CreateCheckoutSessionShippingAddressCollectionAllowedCountries::Mo,
    CreateCheckoutSessionShippingAddressCollectionAllowedCountries::Tw,
];

pub struct Payments {
    client: Option<Client>,
    methods: Vec<CreateCheckoutSessionAllowedPaymentMethodTypes>,
    test_mode: bool,
    webhook_secrets: Vec<String>,
}

/// Webhook secrets shorter than this are refused at start-up.
pub const MIN_WEBHOOK_SECRET_CHARS: usize = 16;

/// What the Checkout Session shows and carries.
pub struct CheckoutRequest<'a> {
    pub order_id: &'a str,
    pub painting_id: i64,
    pub title: &'a str,
    pub image_url: String,
    pub options: PrintOptions,
    pub amount_cents: i64,
    pub success_url: String,
    pub cancel_url: String,
    pub expires_at: i64,
}

impl Payments {
    pub fn from_config(config: &Config) -> ServerResult<Self> {
        let client = match &config.stripe_secret_key {
            None => None,
            Some(key) => {
                let mut builder = ClientBuilder::new(key.clone());
                if let Some(base) = &config.stripe_api_base {
                    builder = builder.url(base.as_str().trim_end_matches('/'));
                }
                Some(builder.build().map_err(stripe_error)?)
            }
        };
        let methods = config
            .payment_methods
            .iter()
            .map(|m| {
                m.trim().parse().map_err(|_| {
                    ServerError::Payment(format!("unknown payment method {m:?} in ARTWALL_PAYMENT_METHODS"))
                })
            })
            .collect::<ServerResult<Vec<_>>>()?;
        // Stripe's test-mode keys (and the project's own test server's) never charge a card.
        let test_mode = config
            .stripe_secret_key
            .as_deref()
            .is_some_and(|key| key.starts_with("sk_test_") || key.starts_with("rk_test_"));
        // An empty entry (`ARTWALL_STRIPE_WEBHOOK_SECRETS=` or a trailing comma) would be an empty
        // HMAC key, with which anyone can sign.
        let webhook_secrets: Vec<String> = config
            .stripe_webhook_secrets
            .iter()
            .map(|secret| secret.trim().to_owned())
            .filter(|secret| !secret.is_empty())
            .collect();
        // Checked with or without a Stripe key: the webhook route is live either way, and a
        // guessable secret would let anyone mark orders paid.
        if webhook_secrets.iter().any(|secret| secret.chars().count() < MIN_WEBHOOK_SECRET_CHARS) {
            return Err(ServerError::Config(format!(
                "every ARTWALL_STRIPE_WEBHOOK_SECRETS entry must have at least {MIN_WEBHOOK_SECRET_CHARS} characters"
            )));
        }
        Ok(Self { client, methods, test_mode, webhook_secrets })
    }

    /// The secrets a webhook's signature is checked against (none empty).
    pub fn webhook_secrets(&self) -> &[String] {
        &self.webhook_secrets
    }

    pub fn is_configured(&self) -> bool {
        self.client.is_some()
    }

    /// Payments are configured with a test-mode key: shoppers are told that no card is charged.
    pub fn is_test_mode(&self) -> bool {
        self.test_mode
    }

    fn client(&self) -> ServerResult<&Client> {
        self.client.as_ref().ok_or_else(|| ServerError::Payment("no Stripe key configured".into()))
    }

    /// Creates the Checkout Session, with the order id as the idempotency key: a retry (or a
    /// second click) for the same order gets the same session back.
    pub async fn create_checkout(&self, request: CheckoutRequest<'_>) -> ServerResult<CheckoutSession> {
        let metadata = HashMap::from([
            ("orderId".to_owned(), request.order_id.to_owned()),
            ("paintingId".to_owned(), request.painting_id.to_string()),
        ]);
        let mut product = ProductData::new(request.title);
        product.description = Some(request.options.describe());
        product.images = Some(vec![request.image_url.clone()]);
        let mut price = CreateCheckoutSessionLineItemsPriceData::new(
            CURRENCY.parse::<stripe_types::Currency>().expect("cny is a currency"),
        );
        price.product_data = Some(product);
        price.unit_amount = Some(request.amount_cents);
        let mut item = CreateCheckoutSessionLineItems::new();
        item.price_data = Some(price);
        item.quantity = Some(1);
        let mut intent = CreateCheckoutSessionPaymentIntentData::new();
        intent.metadata = Some(metadata.clone());
        let key =
            IdempotencyKey::new(request.order_id).map_err(|e| ServerError::Payment(format!("idempotency key: {e}")))?;
        CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Payment)
            .line_items(vec![item])
            .metadata(metadata)
            .payment_intent_data(intent)
            .client_reference_id(request.order_id)
            .success_url(request.success_url)
            .cancel_url(request.cancel_url)
            .shipping_address_collection(CreateCheckoutSessionShippingAddressCollection::new(
                SHIPPING_COUNTRIES.to_vec(),
            ))
            .allowed_payment_method_types(self.methods.clone())
            .expires_at(request.expires_at)
            .customize()
            .request_strategy(RequestStrategy::Idempotent(key))
            .send(self.client()?)
            .await
            .map_err(stripe_error)
    }

    pub async fn retrieve_session(&self, session_id: &str) -> ServerResult<CheckoutSession> {
        RetrieveCheckoutSession::new(session_id).send(self.client()?).await.map_err(stripe_error)
    }

    pub async fn expire_session(&self, session_id: &str) -> ServerResult<CheckoutSession> {
        ExpireCheckoutSession::new(session_id).send(self.client()?).await.map_err(stripe_error)
    }

    /// Asks Stripe to refund; the order changes when Stripe's `charge.refunded` arrives.
    pub async fn refund(&self, payment_intent: &str, amount_cents: i64, idempotency: &str) -> ServerResult<()> {
        let key =
            IdempotencyKey::new(idempotency).map_err(|e| ServerError::Payment(format!("idempotency key: {e}")))?;
        CreateRefund::new()
            .payment_intent(payment_intent)
            .amount(amount_cents)
            .customize()
            .request_strategy(RequestStrategy::Idempotent(key))
            .send(self.client()?)
            .await
            .map_err(stripe_error)?;
        Ok(())
    }
}

fn stripe_error(error: StripeError) -> ServerError {
    match &error {
        StripeError::Stripe(api, status)
            if *status == 409 || api.type_ == stripe_shared::ApiErrorsType::IdempotencyError =>
        {
            ServerError::PaymentInProgress(error.to_string())
        }
        _ => ServerError::Payment(error.to_string()),
    }
}
