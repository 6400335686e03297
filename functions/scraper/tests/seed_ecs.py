"""Seeds moto (launched by tests/moto/launcher.py, whose ECS patches this relies on) for
the ECS/EC2 discovery tests.

Usage: seed_ecs.py ENDPOINT [--tasks N] [--services S] [--region R]

Creates, in region R (default eu-west-1):
- a VPC 10.0.0.0/16 with subnets 10.0.0.0/18 (<R>a) and 10.0.64.0/18 (<R>b), one
  security group;
- EC2 instances tagged Name and env: web-1 (prod, public IP), multi-1 (prod, two ENIs,
  each with a public IP), staging-1 (staging, private only), ecs-host-1/ecs-host-2
  (prod, one per subnet, registered as container instances of cluster prod);
- cluster prod (tags env=prod, team=shop) with
  - service web (Fargate, 2 tasks): task definition web = container app (docker labels
    PROMETHEUS_EXPORTER_PORT=8080, PROMETHEUS_EXPORTER_PATH=/metrics) + container envoy
    (PROMETHEUS_EXPORTER_PORT=9901, PROMETHEUS_EXPORTER_PATH=/stats/prometheus), and one
    stopped task of the service (discovery must skip it);
  - service worker (Fargate, 1 task): task definition worker, no exporter labels;
  - service batch (Fargate, 1 task): task definition batch, one label
    (PROMETHEUS_EXPORTER_PORT=9090);
  - service node-exporter (EC2, bridge mode, one task per container instance): task
    definition node-exporter maps containerPort 9100 to hostPort 0 (dynamic), label
    PROMETHEUS_EXPORTER_PORT=9100;
- with --task-definition FILE: that task definition (register-task-definition input,
  awsvpc) and 2 Fargate tasks of it in cluster prod, as service --service (default
  checkout): how the tests run an example task definition;
- with --tasks N (N > 0): cluster scale (tag env=bench) with S services (default 1)
  svc-000..., N Fargate tasks spread evenly over them (task definition scale, one
  container app with PROMETHEUS_EXPORTER_PORT=8080).

Tasks of a service are run with group "service:<name>" and startedBy "ecs-svc/<name>",
as ECS does. Prints a JSON summary on stdout:

{"region": R, "vpc_id": ..., "subnets": [{"id", "cidr", "az"}], "security_group": ...,
 "instances": {"<Name>": {"id", "env", "private_ips": [..], "public_ips": [..],
                          "private_dns_name"}},
 "task_definitions": {"<family>": "<arn>"},
 "clusters": {"<name>": {"arn", "container_instances": [{"arn", "instance_id"}],
     "services": {"<name>": {"arn", "task_definition", "launch_type",
         "tasks": [{"arn", "ip", "az", "container_instance", "instance_id",
                    "host_ports": {"<container>/<containerPort>": hostPort}}]}},
     "stopped_tasks": ["<arn>"]}},
 "seconds": <seeding time>}

"ip" is the task ENI's address (awsvpc) or the container instance's private IP (bridge);
"host_ports" is empty for awsvpc tasks. Any error is a non-zero exit with botocore's
message.
"""
import argparse
import json
import sys
import time

import botocore.exceptions
import botocore.session

parser = argparse.ArgumentParser()
parser.add_argument("endpoint")
parser.add_argument("--tasks", type=int, default=0)
parser.add_argument("--services", type=int, default=1)
parser.add_argument("--region", default="eu-west-1")
parser.add_argument("--task-definition", metavar="FILE",
                    help="also register FILE (register-task-definition input JSON, awsvpc) and run "
                         "2 Fargate tasks of it in cluster prod as service --service")
parser.add_argument("--service", default="checkout")
args = parser.parse_args()

session = botocore.session.get_session()
kw = dict(region_name=args.region, endpoint_url=args.endpoint,
          aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
ec2 = session.create_client("ec2", **kw)
ecs = session.create_client("ecs", **kw)


def tags(**kv):
    return [{"Key": k, "Value": v} for k, v in kv.items()]


def ecs_tags(**kv):
    return [{"key": k, "value": v} for k, v in kv.items()]


def labels(port=None, path=None):
    out = {}
    if port is not None:
        out["PROMETHEUS_EXPORTER_PORT"] = str(port)
    if path is not None:
        out["PROMETHEUS_EXPORTER_PATH"] = path
    return out


def seed():
    started = time.monotonic()
    out = {"region": args.region, "instances": {}, "task_definitions": {}, "clusters": {}}

    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    out["vpc_id"] = vpc
    subnets = []
    for cidr, az in [("10.0.0.0/18", args.region + "a"), ("10.0.64.0/18", args.region + "b")]:
        s = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]
        subnets.append({"id": s["SubnetId"], "cidr": cidr, "az": s["AvailabilityZone"]})
    out["subnets"] = subnets
    sg = ec2.create_security_group(GroupName="discovery", Description="discovery tests", VpcId=vpc)["GroupId"]
    out["security_group"] = sg
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

    def instance(name, env, enis):
        """enis: list of (subnet index, public ip?) in device order."""
        nics = [{"DeviceIndex": i, "SubnetId": subnets[s]["id"], "Groups": [sg],
                 "AssociatePublicIpAddress": public} for i, (s, public) in enumerate(enis)]
        iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.medium",
                                NetworkInterfaces=nics,
                                TagSpecifications=[{"ResourceType": "instance",
                                                    "Tags": tags(Name=name, env=env)}])["Instances"][0]["InstanceId"]
        return iid

    for name, env, enis in [("web-1", "prod", [(0, True)]),
                            ("multi-1", "prod", [(0, True), (1, True)]),
                            ("staging-1", "staging", [(1, False)]),
                            ("ecs-host-1", "prod", [(0, False)]),
                            ("ecs-host-2", "prod", [(1, False)])]:
        instance(name, env, enis)
    for reservation in ec2.describe_instances(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Reservations"]:
        for inst in reservation["Instances"]:
            t = {x["Key"]: x["Value"] for x in inst.get("Tags", [])}
            nis = sorted(inst.get("NetworkInterfaces", []), key=lambda n: n["Attachment"]["DeviceIndex"])
            out["instances"][t["Name"]] = {
                "id": inst["InstanceId"], "env": t.get("env"),
                "private_ips": [n["PrivateIpAddress"] for n in nis],
                "public_ips": [n["Association"]["PublicIp"] for n in nis if n.get("Association", {}).get("PublicIp")],
                "private_dns_name": inst.get("PrivateDnsName"),
            }

    def task_definition(family, containers, fargate=True):
        extra = ({"requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512"}
                 if fargate else {"requiresCompatibilities": ["EC2"], "networkMode": "bridge"})
        arn = ecs.register_task_definition(family=family, containerDefinitions=containers, **extra)[
            "taskDefinition"]["taskDefinitionArn"]
        out["task_definitions"][family] = arn
        return arn

    def container(name, image_, port=None, path=None, **more):
        return {"name": name, "image": image_, "memory": 128, "essential": True,
                "dockerLabels": labels(port, path), **more}

    awsvpc = {"awsvpcConfiguration": {"subnets": [s["id"] for s in subnets], "securityGroups": [sg],
                                      "assignPublicIp": "DISABLED"}}

    def task_summary(task, ci_hosts):
        ip, host_ports, instance_id = None, {}, None
        for attachment in task.get("attachments", []):
            details = {d["name"]: d["value"] for d in attachment.get("details", [])}
            ip = details.get("privateIPv4Address", ip)
        ci = task.get("containerInstanceArn")
        if ci:
            instance_id, ip = ci_hosts[ci]
        for c in task["containers"]:
            for b in c.get("networkBindings", []):
                host_ports[f"{c['name']}/{b['containerPort']}"] = b["hostPort"]
        return {"arn": task["taskArn"], "ip": ip, "az": task.get("availabilityZone"),
                "container_instance": ci, "instance_id": instance_id, "host_ports": host_ports}

    def cluster(name, **tag_kv):
        arn = ecs.create_cluster(clusterName=name, tags=ecs_tags(**tag_kv))["cluster"]["clusterArn"]
        entry = {"arn": arn, "container_instances": [], "services": {}, "stopped_tasks": []}
        out["clusters"][name] = entry
        return entry

    def service(entry, cluster_name, name, td_arn, count, fargate=True, ci_hosts=None):
        cfg = dict(launchType="FARGATE", networkConfiguration=awsvpc) if fargate else dict(launchType="EC2")
        arn = ecs.create_service(cluster=cluster_name, serviceName=name, taskDefinition=td_arn,
                                 desiredCount=count, **cfg)["service"]["serviceArn"]
        svc = {"arn": arn, "task_definition": td_arn, "launch_type": cfg["launchType"], "tasks": []}
        entry["services"][name] = svc
        if fargate:
            left = count
            while left > 0:
                n = min(left, 10)
                resp = ecs.run_task(cluster=cluster_name, taskDefinition=td_arn, count=n, launchType="FARGATE",
                                    networkConfiguration=awsvpc, group=f"service:{name}",
                                    startedBy=f"ecs-svc/{name}")
                if resp.get("failures"):
                    raise RuntimeError(f"RunTask failures: {resp['failures']}")
                svc["tasks"] += [task_summary(t, ci_hosts) for t in resp["tasks"]]
                left -= n
        else:
            # One task per container instance (StartTask places explicitly; moto's RunTask packs one host).
            for ci in list(ci_hosts)[:count]:
                resp = ecs.start_task(cluster=cluster_name, taskDefinition=td_arn, containerInstances=[ci],
                                      group=f"service:{name}", startedBy=f"ecs-svc/{name}")
                svc["tasks"] += [task_summary(t, ci_hosts) for t in resp["tasks"]]
        return svc

    prod = cluster("prod", env="prod", team="shop")
    ci_hosts = {}
    for host in ["ecs-host-1", "ecs-host-2"]:
        iid = out["instances"][host]["id"]
        ci = ecs.register_container_instance(cluster="prod", instanceIdentityDocument=json.dumps(
            {"instanceId": iid, "region": args.region}))["containerInstance"]["containerInstanceArn"]
        ci_hosts[ci] = (iid, out["instances"][host]["private_ips"][0])
        prod["container_instances"].append({"arn": ci, "instance_id": iid})

    web = task_definition("web", [container("app", "shop/web:1.0", 8080, "/metrics",
                                            portMappings=[{"containerPort": 8080, "protocol": "tcp"}]),
                                  container("envoy", "envoyproxy/envoy:v1.30", 9901, "/stats/prometheus",
                                            portMappings=[{"containerPort": 9901, "protocol": "tcp"}])])
    worker = task_definition("worker", [container("worker", "shop/worker:1.0")])
    batch = task_definition("batch", [container("batch", "shop/batch:1.0", 9090)])
    node = task_definition("node-exporter", [container(
        "node-exporter", "prom/node-exporter:v1.8.0", 9100,
        portMappings=[{"containerPort": 9100, "hostPort": 0, "protocol": "tcp"}])], fargate=False)

    service(prod, "prod", "web", web, 2, ci_hosts=ci_hosts)
    service(prod, "prod", "worker", worker, 1, ci_hosts=ci_hosts)
    service(prod, "prod", "batch", batch, 1, ci_hosts=ci_hosts)
    service(prod, "prod", "node-exporter", node, 2, fargate=False, ci_hosts=ci_hosts)
    stopped = ecs.run_task(cluster="prod", taskDefinition=web, count=1, launchType="FARGATE",
                           networkConfiguration=awsvpc, group="service:web", startedBy="ecs-svc/web")["tasks"][0]
    ecs.stop_task(cluster="prod", task=stopped["taskArn"], reason="Scaling activity initiated by deployment")
    prod["stopped_tasks"].append(stopped["taskArn"])

    if args.task_definition:
        with open(args.task_definition, encoding="utf-8") as f:
            given = json.load(f)
        arn = ecs.register_task_definition(**given)["taskDefinition"]["taskDefinitionArn"]
        out["task_definitions"][given["family"]] = arn
        service(prod, "prod", args.service, arn, 2, ci_hosts=ci_hosts)

    if args.tasks > 0:
        scale = cluster("scale", env="bench")
        td = task_definition("scale", [container("app", "bench/app:1.0", 8080, "/metrics")])
        services = max(1, args.services)
        for i in range(services):
            count = args.tasks // services + (1 if i < args.tasks % services else 0)
            service(scale, "scale", f"svc-{i:03d}", td, count, ci_hosts={})

    out["seconds"] = round(time.monotonic() - started, 3)
    return out


try:
    result = seed()
except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, RuntimeError) as e:
    sys.exit(f"seed_ecs: {e}")
json.dump(result, sys.stdout, indent=1)
print()
