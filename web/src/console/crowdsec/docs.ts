import { graphql } from '../gql';

export const CrowdsecHealthDoc = graphql(`
  query CrowdsecHealth {
    health {
      crowdsec {
        configured
        lapiUrl
        status
        lagSeconds
        lastError
        decisions {
          enabled
          lastSuccessAt
          lastError
        }
        alerts {
          enabled
          lastSuccessAt
          lastError
        }
      }
    }
  }
`);

export const DecisionsDoc = graphql(`
  query Decisions($filter: DecisionFilter, $after: String) {
    decisions(filter: $filter, first: 50, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          crowdsecId
          origin
          type
          scope
          value
          scenario
          expiresAt
          active
          deletedAt
          geo {
            countryCode
          }
        }
      }
    }
  }
`);

export const AlertsDoc = graphql(`
  query Alerts($filter: AlertFilter, $after: String) {
    alerts(filter: $filter, first: 50, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          scenario
          sourceValue
          sourceScope
          eventsCount
          startAt
          machineId
          geo {
            countryCode
          }
          decisions {
            id
            active
          }
        }
      }
    }
  }
`);

export const BanDoc = graphql(`
  mutation BanIp($value: String!, $duration: String!, $reason: String!, $scope: String) {
    banIp(value: $value, duration: $duration, reason: $reason, scope: $scope) {
      id
      value
      expiresAt
      active
    }
  }
`);

export const UnbanDoc = graphql(`
  mutation DeleteDecision($id: ID!) {
    deleteDecision(id: $id)
  }
`);

export const SyncDoc = graphql(`
  mutation SyncCrowdsec {
    syncCrowdsec {
      decisionsAdded
      decisionsDeleted
      alertsAdded
      durationMs
    }
  }
`);

export const DecisionChangesDoc = graphql(`
  subscription DecisionChanges {
    decisionAdded {
      id
    }
  }
`);

export const DecisionGoneDoc = graphql(`
  subscription DecisionGone {
    decisionDeleted {
      id
    }
  }
`);
